//go:build unix

package redirect_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

// serveRedirector runs the redirector's own server (as `dnsreroute serve` does)
// on loopback and counts its open connections.
func serveRedirector(t *testing.T) (addr string, open *atomic.Int64) {
	t.Helper()
	res := newResolver(frontFinder(), newClock(), redirect.Config{})
	srv := redirect.NewServer(redirect.NewHandler(res, false), nil)
	open = new(atomic.Int64)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), open
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1 // no procfs: the figure is not reported
	}
	return len(ents)
}

// raiseFDLimit raises the soft limit on open files to at least n, or skips.
func raiseFDLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("the hard limit on open files is %d, this test needs %d", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", n, err)
	}
}

// TestSlowBodiesAreCutOff opens 1,000 connections that each send a POST's headers
// announcing a body, then trickle it one byte at a time. A redirect needs no body:
// the server answers each at once and closes it. Meanwhile ordinary requests keep
// being answered; their latency is logged, not asserted (the machine is shared).
func TestSlowBodiesAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	tests := []struct {
		name, header string
		conns        int
	}{
		// Above net/http's 256 KB of body it would discard after answering.
		{"large Content-Length", "Content-Length: 1000000\r\n", 1000},
		// Below it: net/http would read the whole body before answering.
		{"small Content-Length", "Content-Length: 1000\r\n", 200},
		{"chunked", "Transfer-Encoding: chunked\r\n", 200},
		{"Content-Length and Transfer-Encoding", "Content-Length: 1000\r\nTransfer-Encoding: chunked\r\n", 200},
	}
	raiseFDLimit(t, 2*1000+512)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { slowBodies(t, tt.header, tt.conns) })
	}
}

func slowBodies(t *testing.T, header string, conns int) {
	addr, open := serveRedirector(t)
	fdsBefore := openFDs(t)
	const (
		deadline    = 30 * time.Second
		trickle     = 100 * time.Millisecond
		maxTrickles = int(deadline / trickle) // bounded: stops by itself
	)
	stop := make(chan struct{})
	defer close(stop)
	var (
		answered, closed atomic.Int64
		wg               sync.WaitGroup
		dialErrs         = make(chan error, conns)
	)
	request := "POST /p HTTP/1.1\r\nHost: old.example.com\r\n" + header + "\r\n"
	start := time.Now()
	sem := make(chan struct{}, 50) // dials in flight
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			c, err := net.DialTimeout("tcp", addr, deadline)
			<-sem
			if err != nil {
				dialErrs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(start.Add(2 * deadline))
			if _, err := io.WriteString(c, request); err != nil {
				dialErrs <- err
				return
			}
			done := make(chan struct{})
			go func() { // trickles one body byte at a time until the server closes
				for range maxTrickles {
					select {
					case <-done:
						return
					case <-stop:
						return
					case <-time.After(trickle):
					}
					if _, err := c.Write([]byte{'x'}); err != nil {
						return
					}
				}
			}()
			defer close(done)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 301 && resp.Close {
				answered.Add(1)
			}
			// The server closes: a read ends with EOF (or a reset, if a trickled
			// byte crossed the close), not with this side's deadline.
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				closed.Add(1)
			}
		}()
	}
	var peakFDs atomic.Int64
	go func() { // samples the open file descriptors until the attack ends
		for {
			peakFDs.Store(max(peakFDs.Load(), int64(openFDs(t))))
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	// Ordinary requests while the slow connections are open.
	client := &http.Client{
		Timeout:       deadline,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	var lat []time.Duration
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	for i := 0; ; i++ {
		select {
		case <-allDone:
		default:
			if i < 1000 {
				lat = append(lat, normalGet(t, client, addr))
				continue
			}
			<-allDone
		}
		break
	}
	elapsed := time.Since(start)
	close(dialErrs)
	for err := range dialErrs {
		t.Fatalf("slow connection: %v", err)
	}
	if n := closed.Load(); n != int64(conns) {
		t.Errorf("%d of %d slow connections closed by the server within %s", n, conns, 2*deadline)
	}
	if n := answered.Load(); n != int64(conns) {
		t.Errorf("%d of %d slow connections answered 301 with Connection: close", n, conns)
	}
	if elapsed > deadline {
		t.Errorf("the last slow connection closed after %s, want within %s", elapsed, deadline)
	}
	// Server side: every connection is gone once the ordinary client's are.
	client.CloseIdleConnections()
	for wait := time.Now().Add(deadline); open.Load() > 0 && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("the server still holds %d connections", n)
	}
	slices.Sort(lat)
	t.Logf("%d slow connections (%s): all answered and closed by the server in %s; fds before %d, at most %d, after %d; "+
		"%d ordinary GETs meanwhile, latency min %s median %s max %s",
		conns, strings.TrimSpace(strings.ReplaceAll(header, "\r\n", "; ")), elapsed.Round(time.Millisecond), fdsBefore, peakFDs.Load(), openFDs(t),
		len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])
}

// normalGet asks for an ordinary redirect and checks the answer.
func normalGet(t *testing.T, client *http.Client, addr string) time.Duration {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/some/path?x=1", nil)
	req.Host = "old.example.com"
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("ordinary GET during the attack: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://new.example.org/some/path?x=1" {
		t.Fatalf("ordinary GET during the attack: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return d
}

// TestConnectionCloses checks, over raw TCP, which requests close the connection
// after their answer: one with a body (never read), including one with both
// Content-Length and Transfer-Encoding (RFC 9112 section 6.1), and not a plain GET,
// which keeps it for the next request.
func TestConnectionCloses(t *testing.T) {
	addr, _ := serveRedirector(t)
	tests := []struct {
		name, request string
		wantClose     bool
	}{
		{"GET keeps the connection", "GET /a HTTP/1.1\r\nHost: old.example.com\r\n\r\n", false},
		{"Content-Length and Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: old.example.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
		{"Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: old.example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true},
		{"Content-Length", "POST /a HTTP/1.1\r\nHost: old.example.com\r\nContent-Length: 5\r\n\r\nhello", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkClose(t, addr, tt.request, tt.wantClose, 301)
		})
	}
	t.Run("request line and headers over the bound", func(t *testing.T) {
		checkClose(t, addr, "GET /"+strings.Repeat("a", 1<<20)+" HTTP/1.1\r\nHost: old.example.com\r\n\r\n", true, 431)
	})
}

// checkClose sends request on a new connection, reads the answer, and checks
// whether the server then closes the connection or answers a second request.
func checkClose(t *testing.T, addr, request string, wantClose bool, wantStatus int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go io.WriteString(c, request) // a server that answers first may stop reading
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != wantStatus || len(body) > 1024 {
		t.Fatalf("answer %d with %d bytes, want %d and a small body", resp.StatusCode, len(body), wantStatus)
	}
	if !wantClose {
		io.WriteString(c, "GET /b HTTP/1.1\r\nHost: old.example.com\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 301 {
			t.Fatalf("second request on the connection: %v", err)
		}
		resp.Body.Close()
		return
	}
	// Closed: the next read ends (EOF, or a reset for unread bytes), without
	// waiting for this side's deadline.
	_, err = io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}
