package devstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
)

// binDir is the project's bin folder, seen from this package's folder.
const binDir = "../../bin"

func startStripeMock(t *testing.T, opts devstack.StripeMockOptions) *devstack.StripeMock {
	t.Helper()
	m, err := devstack.StartStripeMock(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	return m
}

// createCustomer makes one API call and returns the customer's id.
func createCustomer(t *testing.T, base string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/customers",
		strings.NewReader(url.Values{"email": {"a@example.com"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer sk_test_123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var c struct{ ID, Object, Email string }
	if err := json.Unmarshal(body, &c); res.StatusCode != http.StatusOK || err != nil ||
		c.Object != "customer" || c.Email != "a@example.com" || c.ID == "" {
		t.Fatalf("POST /v1/customers = %s %s", res.Status, body)
	}
	return c.ID
}

func TestStartStripeMock(t *testing.T) {
	t.Parallel()
	// Two at once: neither may take a fixed port (stripe-mock's default HTTPS
	// listener would).
	first := startStripeMock(t, devstack.StripeMockOptions{BinDir: binDir})
	second := startStripeMock(t, devstack.StripeMockOptions{BinDir: binDir})
	for _, m := range []*devstack.StripeMock{first, second} {
		if want := "http://127.0.0.1:" + strconv.Itoa(m.Port()); m.URL() != want || m.Port() == 0 {
			t.Fatalf("URL() = %q, want %q", m.URL(), want)
		}
		createCustomer(t, m.URL())
	}
	if first.Port() == second.Port() {
		t.Fatalf("both instances on port %d", first.Port())
	}

	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(first.Port()), time.Second); err == nil {
		c.Close()
		t.Fatal("the port still answers after Stop")
	}
	createCustomer(t, second.URL()) // the other one is unaffected

	// A given port is used as given.
	again := startStripeMock(t, devstack.StripeMockOptions{BinDir: binDir, Port: first.Port()})
	if again.Port() != first.Port() {
		t.Fatalf("Port() = %d, want %d", again.Port(), first.Port())
	}
	createCustomer(t, again.URL())
}

func TestStartStripeMockFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    func(t *testing.T) devstack.StripeMockOptions
		wantErr string
	}{
		{
			name: "not installed",
			opts: func(t *testing.T) devstack.StripeMockOptions {
				return devstack.StripeMockOptions{BinDir: t.TempDir()}
			},
			wantErr: "make tools",
		},
		{
			name: "port taken",
			opts: func(t *testing.T) devstack.StripeMockOptions {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				return devstack.StripeMockOptions{BinDir: binDir, Port: l.Addr().(*net.TCPAddr).Port}
			},
			wantErr: "exited on its own",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			m, err := devstack.StartStripeMock(ctx, tt.opts(t))
			if err == nil {
				m.Stop()
				t.Fatal("started; want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
