package devstack

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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StripeMockOptions configures StartStripeMock.
type StripeMockOptions struct {
	// BinDir is the folder holding the stripe-mock binary ("bin" if empty), where
	// `make tools` installs it.
	BinDir string
	// Port is the loopback port to listen on; 0 lets the system pick a free one.
	Port int
	// Stdout and Stderr receive stripe-mock's output; nil discards it.
	Stdout, Stderr io.Writer
	// ReadyTimeout bounds the wait for the first answer (30s if zero; it loads its
	// OpenAPI spec in about a second).
	ReadyTimeout time.Duration
}

// StripeMock is a running stripe-mock process: Stripe's stateless API stand-in,
// which validates parameters and answers with fixtures.
type StripeMock struct {
	cmd      *exec.Cmd
	addr     string // host:port of the HTTP listener
	sockDir  string // holds the HTTPS listener's Unix socket
	exited   chan struct{}
	waitErr  error
	output   *tail
	stopOnce sync.Once
	stopErr  error
}

// stripeMockTestKey is a key of the shape stripe-mock accepts (it checks the form
// of the Authorization header, not the key).
const stripeMockTestKey = "sk_test_123"

// StartStripeMock starts stripe-mock on a loopback port and returns once it answers
// an API call. ctx bounds the start only: the process runs until Stop, which the
// caller must call (and which also runs if the parent dies, on Linux).
//
// stripe-mock serves HTTPS besides HTTP unless told otherwise, and -http-addr does
// not count as "told otherwise" (only -http-port, which binds every interface,
// does): its HTTPS listener is therefore put on a Unix socket in a private folder,
// so that it neither binds port 12112 on every interface nor collides with
// another instance.
func StartStripeMock(ctx context.Context, opts StripeMockOptions) (*StripeMock, error) {
	bin, err := findStripeMock(opts.BinDir)
	if err != nil {
		return nil, err
	}
	sockDir, err := os.MkdirTemp("", "stripe-mock-")
	if err != nil {
		return nil, fmt.Errorf("stripe-mock socket folder: %w", err)
	}
	watch := &listenWatcher{found: make(chan string, 1)}
	m := &StripeMock{sockDir: sockDir, exited: make(chan struct{}), output: &tail{max: 4096}}
	m.cmd = exec.Command(bin,
		"-http-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)),
		"-https-unix", filepath.Join(sockDir, "https.sock"))
	m.cmd.Stdout = io.MultiWriter(writerOr(opts.Stdout, m.output), watch)
	m.cmd.Stderr = writerOr(opts.Stderr, m.output)
	setProcAttr(m.cmd)
	if err := m.cmd.Start(); err != nil {
		_ = os.RemoveAll(sockDir)
		return nil, fmt.Errorf("starting stripe-mock: %w", err)
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := m.waitReady(ctx, timeout, watch.found); err != nil {
		_ = m.Stop()
		return nil, err
	}
	return m, nil
}

// URL is the base URL of the API, such as "http://127.0.0.1:12111".
func (m *StripeMock) URL() string { return "http://" + m.addr }

// Port is the port stripe-mock listens on.
func (m *StripeMock) Port() int {
	_, port, _ := net.SplitHostPort(m.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// Stop ends the process and waits for it; calling it again returns the first result.
func (m *StripeMock) Stop() error {
	m.stopOnce.Do(func() {
		m.stopErr = m.stop()
		if err := os.RemoveAll(m.sockDir); err != nil && m.stopErr == nil {
			m.stopErr = err
		}
	})
	return m.stopErr
}

func (m *StripeMock) stop() error {
	return stopProcess("stripe-mock", m.cmd, m.exited, m.exitedEarly)
}

// waitReady learns the address from stripe-mock's "Listening for HTTP" line (the
// port may be the system's choice), then polls with a real API call.
func (m *StripeMock) waitReady(ctx context.Context, timeout time.Duration, found <-chan string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case m.addr = <-found:
	case <-m.exited:
		return m.exitedEarly()
	case <-ctx.Done():
		return fmt.Errorf("stripe-mock did not say where it listens within %s%s", timeout, m.output.suffix())
	}

	client := &http.Client{Timeout: 2 * time.Second}
	ping := func(ctx context.Context) error { return m.ping(ctx, client) }
	return pollReady(ctx, 50*time.Millisecond, m.exited, m.exitedEarly, ping, func(err error) error {
		return fmt.Errorf("stripe-mock did not answer on %s within %s: %w%s", m.URL(), timeout, err, m.output.suffix())
	})
}

func (m *StripeMock) ping(ctx context.Context, client *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/v1/customers?limit=1", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+stripeMockTestKey)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/customers answered %s", res.Status)
	}
	return nil
}

func (m *StripeMock) exitedEarly() error {
	return fmt.Errorf("stripe-mock exited on its own (%v)%s", m.waitErr, m.output.suffix())
}

// findStripeMock returns the absolute path of the stripe-mock binary.
func findStripeMock(binDir string) (string, error) {
	if binDir == "" {
		binDir = "bin"
	}
	name := "stripe-mock"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	path := filepath.Join(binDir, name)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return "", fmt.Errorf("stripe-mock is not installed (no %s): run `make tools` (`make test` installs it too)", path)
	}
	return filepath.Abs(path)
}

// listenWatcher reads stripe-mock's standard output for the address of its HTTP
// listener ("Listening for HTTP at address: 127.0.0.1:40123").
type listenWatcher struct {
	mu    sync.Mutex
	line  []byte
	done  bool
	found chan string
}

const listenPrefix = "Listening for HTTP at address: "

func (w *listenWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.line[:i]))
		w.line = w.line[i+1:]
		if addr, ok := strings.CutPrefix(line, listenPrefix); ok {
			w.done, w.line = true, nil
			w.found <- addr
			break
		}
	}
	if len(w.line) > 4096 { // no such line in sight: do not grow without bound
		w.line = w.line[len(w.line)-4096:]
	}
	return len(p), nil
}
