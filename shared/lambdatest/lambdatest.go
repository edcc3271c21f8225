// Package lambdatest runs a built Lambda bootstrap the way Lambda does: it serves the
// Lambda Runtime API (the 2018-06-01 interface a custom runtime polls) on loopback,
// starts the binary with AWS_LAMBDA_RUNTIME_API pointing at it, and hands it events.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles the main package pkg (an import path, or a directory relative to
// the test's package) with the runtime's build tag, lambda.norpc, and returns the
// bootstrap's path. It is built for this machine, with the settings the test binary
// itself was built with (CGO_ENABLED, -race, -trimpath, build tags), so that every
// package the test's own build compiled comes from the build cache: with other
// settings (Lambda's CGO_ENABLED=0 and -trimpath) the whole dependency graph is
// compiled again, which on a cold cache and a loaded machine takes longer than a
// test's -timeout. The build is bounded by the test's deadline: past it, the test
// fails saying so.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithCancel(context.Background())
	if dl, ok := testDeadline(t); ok {
		ctx, cancel = context.WithDeadline(context.Background(), dl)
	}
	defer cancel()
	env, flags := buildSettings()
	args := append(append([]string{"build"}, flags...), "-ldflags=-s -w", "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second // a compiler still writing the output pipe
	start := time.Now()
	b, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("building %s: stopped after %s to leave the test time to report before its -timeout; the build cache is cold or the machine overloaded: %v\n%s",
			pkg, time.Since(start).Round(time.Second), err, b)
	case err != nil:
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// testDeadline is when Build must give up: a minute, or a tenth of the time
// left if less, before the test binary's -timeout panics with every goroutine's
// stack and no word of what took so long.
func testDeadline(t testing.TB) (time.Time, bool) {
	d, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return time.Time{}, false
	}
	dl, ok := d.Deadline()
	if !ok {
		return time.Time{}, false
	}
	return dl.Add(-min(time.Minute, time.Until(dl)/10)), true
}

// buildSettings is the environment and flags that build a package as the test
// binary was built (read from its build information), plus the runtime's tag.
func buildSettings() (env, flags []string) {
	tags := []string{"lambda.norpc"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "CGO_ENABLED":
				env = append(env, "CGO_ENABLED="+s.Value)
			case "-race", "-msan", "-asan", "-trimpath":
				if s.Value == "true" {
					flags = append(flags, s.Key)
				}
			case "-tags":
				for tag := range strings.SplitSeq(s.Value, ",") {
					if tag != "" && !slices.Contains(tags, tag) {
						tags = append(tags, tag)
					}
				}
			}
		}
	}
	return env, append(flags, "-tags", strings.Join(tags, ","))
}

// Result is what the function answered to one invocation.
type Result struct {
	Payload []byte // the response body, when the function succeeded
	Error   []byte // the error document, when it reported one
}

type invocation struct {
	id      string
	payload []byte
	done    chan Result
}

// Runtime is a Runtime API server with one function process attached.
type Runtime struct {
	t       testing.TB
	srv     *http.Server
	addr    string
	queue   chan *invocation
	mu      sync.Mutex
	pending map[string]*invocation
	initErr chan []byte
	cmd     *exec.Cmd
	exited  chan error
	Logs    *syncBuffer // the function's stdout and stderr
	seq     int
}

// Start serves the Runtime API and starts bootstrap with env (plus
// AWS_LAMBDA_RUNTIME_API and the usual Lambda variables). It stops both at cleanup.
func Start(t testing.TB, bootstrap string, env map[string]string) *Runtime {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{
		t:       t,
		addr:    ln.Addr().String(),
		queue:   make(chan *invocation),
		pending: map[string]*invocation{},
		initErr: make(chan []byte, 1),
		exited:  make(chan error, 1),
		Logs:    &syncBuffer{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", rt.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", rt.reply(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", rt.reply(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rt.initErr <- b:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }() // ends with ErrServerClosed at stop

	cmd := exec.Command(bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + rt.addr,
		"AWS_LAMBDA_FUNCTION_NAME=test-function",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = rt.Logs, rt.Logs
	// Its output is copied from pipes, which a process it started may hold open
	// after it ends: the wait for it stops a little after its end all the same.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bootstrap, err)
	}
	rt.cmd = cmd
	go func() { rt.exited <- cmd.Wait() }()
	t.Cleanup(rt.stop)
	return rt
}

func (rt *Runtime) stop() {
	_ = rt.cmd.Process.Kill()
	exit := <-rt.exited
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if rt.srv.Shutdown(ctx) != nil {
		_ = rt.srv.Close()
	}
	if rt.t.Failed() {
		rt.t.Logf("function output (then %v):\n%s", exit, rt.Logs.String())
	}
}

// next hands the polling function the next event, as Lambda's /next does: it blocks
// until there is one.
func (rt *Runtime) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-rt.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:test-function")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (rt *Runtime) reply(isError bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.mu.Lock()
		inv, ok := rt.pending[r.PathValue("id")]
		delete(rt.pending, r.PathValue("id"))
		rt.mu.Unlock()
		if !ok {
			http.Error(w, "unknown request id", http.StatusBadRequest)
			return
		}
		if isError {
			inv.done <- Result{Error: b}
		} else {
			inv.done <- Result{Payload: b}
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// Invoke sends payload to the function and waits for its answer.
func (rt *Runtime) Invoke(ctx context.Context, payload []byte) (Result, error) {
	rt.mu.Lock()
	rt.seq++
	inv := &invocation{id: fmt.Sprintf("req-%06d", rt.seq), payload: payload, done: make(chan Result, 1)}
	rt.pending[inv.id] = inv
	rt.mu.Unlock()
	select {
	case rt.queue <- inv:
	case err := <-rt.exited:
		rt.exited <- err
		return Result{}, fmt.Errorf("function exited before taking the event: %v\n%s", err, rt.Logs.String())
	case b := <-rt.initErr:
		return Result{}, fmt.Errorf("function failed to initialise: %s", b)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case res := <-inv.done:
		return res, nil
	case err := <-rt.exited:
		rt.exited <- err
		return Result{}, fmt.Errorf("function exited during the invocation: %v\n%s", err, rt.Logs.String())
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// WaitForLog reports whether the function's output contains s within timeout: the
// output arrives through a pipe, after the answer it belongs to may have.
func (rt *Runtime) WaitForLog(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(rt.Logs.String(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// InvokeFile invokes the function with the contents of an event file.
func (rt *Runtime) InvokeFile(ctx context.Context, path string) (Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	return rt.Invoke(ctx, b)
}

// syncBuffer collects a process's output safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Clone(b.buf.String())
}
