package netfault_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/netfault"
)

func TestProxyUpDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer srv.Close()
	p, err := netfault.Listen(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{}
	get := func() error {
		resp, err := client.Get("http://" + p.Addr() + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("up: %v", err)
	}
	p.SetDown(true)
	if err := get(); err == nil {
		t.Fatal("down: the request went through")
	}
	p.SetDown(false)
	if err := get(); err != nil {
		t.Fatalf("back up: %v", err)
	}
}
