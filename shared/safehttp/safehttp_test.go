package safehttp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/safehttp"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true, "1.1.1.1": true,
		"127.0.0.1": false, "127.8.9.1": false, "::1": false,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "fd00::1": false,
		"169.254.169.254": false, "fd00:ec2::254": false, "fe80::1": false, // the metadata service, link-local
		"100.64.0.1": false, "100.127.255.254": false, // carrier-grade NAT
		"0.0.0.0": false, "::": false, "0.1.2.3": false,
		"224.0.0.1": false, "ff02::1": false, "255.255.255.255": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true,
		"64:ff9b::a00:1": false, "2002:a00:1::": false, "198.18.0.1": false,
	} {
		if got := safehttp.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://1.1.1.1/hook", false, true},
		{"https://[2606:4700:4700::1111]/hook", false, true},
		{"http://1.1.1.1/hook", false, false},
		{"ftp://1.1.1.1/", false, false},
		{"https://127.0.0.1/hook", false, false},
		{"https://[::1]/hook", false, false},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://10.0.0.1/", false, false},
		{"https://100.64.1.1/", false, false},
		{"https://0.0.0.0/", false, false},
		{"https://localhost/", false, false}, // resolves to loopback
		{"https://user:pw@1.1.1.1/", false, false},
		{"/relative", false, false},
		{"https://no-such-name.invalid/", false, false},
		{"http://127.0.0.1:9999/hook", true, true},
		{"https://127.0.0.1:9999/hook", true, true},
		{"http://10.0.0.1/", true, false}, // development allows loopback only
		{"http://1.1.1.1/", true, false},  // and plain http only there
	} {
		err := safehttp.Guard{AllowLoopback: tc.loopback}.CheckURL(ctx, tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q, loopback %v) = %v, want ok %v", tc.url, tc.loopback, err, tc.ok)
		}
		if err != nil && !errors.Is(err, safehttp.ErrRefused) {
			t.Errorf("CheckURL(%q): %v does not wrap ErrRefused", tc.url, err)
		}
	}
}

// TestClientDialTime: the client refuses a loopback server at dial time even
// when the URL was never checked (as after a DNS answer changed), and reaches it
// with AllowLoopback.
func TestClientDialTime(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()

	_, err := safehttp.Guard{}.Client(safehttp.ClientOptions{Timeout: 10 * time.Second}).Get(srv.URL)
	if !errors.Is(err, safehttp.ErrRefused) {
		t.Fatalf("GET %s through the guard: %v, want ErrRefused", srv.URL, err)
	}
	res, err := safehttp.Guard{AllowLoopback: true}.Client(safehttp.ClientOptions{Timeout: 10 * time.Second}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s with loopback allowed: %v", srv.URL, err)
	}
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Fatalf("status %d, want 204", res.StatusCode)
	}
}

// TestClientRedirects: with no redirects allowed the redirect itself is the
// answer; with some, each hop is checked (a hop to a refused URL fails).
func TestClientRedirects(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("/meta", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	g := safehttp.Guard{AllowLoopback: true}

	res, err := g.Client(safehttp.ClientOptions{Timeout: 10 * time.Second}).Get(srv.URL + "/a")
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("no redirects: %v %v, want the 302 itself", res, err)
	}
	res.Body.Close()
	res, err = g.Client(safehttp.ClientOptions{Timeout: 10 * time.Second, MaxRedirects: 5}).Get(srv.URL + "/a")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("5 redirects: %v %v, want 200 from /b", res, err)
	}
	res.Body.Close()
	_, err = g.Client(safehttp.ClientOptions{Timeout: 10 * time.Second, MaxRedirects: 5}).Get(srv.URL + "/meta")
	if !errors.Is(err, safehttp.ErrRefused) {
		t.Fatalf("a redirect to the metadata service: %v, want ErrRefused", err)
	}
}
