package accesslog_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/accesslog"
)

// Every line is one JSON object with exactly the fields of the stack's
// delivery, values as strings, "-" for none, and header values URL-encoded.
func TestAppendLine(t *testing.T) {
	at := time.Date(2026, 11, 29, 23, 59, 59, 987654321, time.FixedZone("CET", 3600))
	line := accesslog.AppendLine(nil, accesslog.Entry{
		Time: at, Host: "old.example.com", Method: "GET", Path: "/a%20b/c", Status: 301,
		Referer: "https://news.example/x?y=1", UserAgent: `Mozilla/5.0 (X11; Linux x86_64) "quoted"`, ResultType: "Miss",
	})
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	var names []string
	for k, v := range got {
		names = append(names, k)
		if _, ok := v.(string); !ok {
			t.Errorf("%s is %T, want a string", k, v)
		}
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(accesslog.Fields))
	if !slices.Equal(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
	for k, v := range map[string]string{
		"timestamp":              strconv.FormatInt(at.Unix(), 10) + ".987", // Unix seconds, milliseconds
		"x-host-header":          "old.example.com",
		"cs-uri-stem":            "/a%20b/c",
		"sc-status":              "301",
		"cs(Referer)":            "https:%2F%2Fnews.example%2Fx%3Fy=1",
		"cs(User-Agent)":         "Mozilla%2F5.0%20%28X11%3B%20Linux%20x86_64%29%20%22quoted%22",
		"c-country":              "-",
		"x-edge-result-type":     "Miss",
		"distribution-tenant-id": "-",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// The handler logs what the wrapped handler answered, once per request, with
// the host the redirector reads; concurrent requests never interleave lines.
func TestHandlerLogsEveryAnswer(t *testing.T) {
	var buf bytes.Buffer
	w := accesslog.NewWriter(&buf)
	now := func() time.Time { return time.Unix(1796511599, 0) }
	next := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			rw.WriteHeader(http.StatusGone)
		case "/implicit":
			_, _ = rw.Write([]byte("ok"))
		default:
			http.Redirect(rw, r, "https://new.example/", http.StatusMovedPermanently)
		}
	})
	cases := []struct {
		name, host, fwd, path, status string
		trust                         bool
	}{
		{"redirect", "old.example.com", "", "/x", "301", false},
		{"explicit status", "old.example.com", "", "/gone", "410", false},
		{"implicit 200", "old.example.com", "", "/implicit", "200", false},
		{"forwarded host trusted", "lambda-url.example", "www.old.example", "/x", "301", true},
		{"forwarded host ignored", "old.example.com:8081", "evil.example", "/x", "301", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			r := httptest.NewRequest("GET", "http://"+tc.host+tc.path, nil)
			r.Header.Set("User-Agent", "curl/8.5.0")
			if tc.fwd != "" {
				r.Header.Set("X-Forwarded-Host", tc.fwd)
			}
			accesslog.Handler(next, w, tc.trust, now, func(err error) { t.Error(err) }).ServeHTTP(httptest.NewRecorder(), r)
			var got map[string]string
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%q: %v", buf.String(), err)
			}
			host := tc.host
			if tc.trust && tc.fwd != "" {
				host = tc.fwd
			}
			if got["x-host-header"] != host || got["sc-status"] != tc.status || got["cs-uri-stem"] != tc.path ||
				got["cs-method"] != "GET" || got["cs(User-Agent)"] != "curl%2F8.5.0" {
				t.Errorf("logged %v", got)
			}
		})
	}

	buf.Reset()
	h := accesslog.Handler(next, w, false, now, func(err error) { t.Error(err) })
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "http://old.example.com/p/"+strings.Repeat("x", i), nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	lines := 0
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %q: %v", lines, sc.Text(), err)
		}
		lines++
	}
	if lines != n {
		t.Errorf("%d lines for %d requests", lines, n)
	}
}
