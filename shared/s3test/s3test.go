// Package s3test runs an S3 API server for tests: moto's server (moto_server,
// installed on the project's machines; the Python package index is not
// needed at test time), on a free loopback port, stopped at cleanup.
package s3test

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running S3 API server.
type Server struct {
	Endpoint string // http://127.0.0.1:port
}

// Start starts moto_server and waits until it answers. Without moto_server on
// PATH the test is skipped, saying so.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed: the S3 path is not tested")
	}
	// A free port: moto_server takes a port number, not a listener. Another
	// process could take it between Close and moto's bind; moto then fails
	// and the wait below says so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var out strings.Builder
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port)) //nolint:gosec // G204: moto_server found on PATH, by a test
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if err := <-exited; err != nil {
			t.Logf("moto_server stopped: %v", err) // killed, as it should be
		}
	})
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	// Python starts slowly on a loaded machine: a generous deadline.
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("moto_server exited before answering: %v\n%s", err, out.String())
		default:
		}
		if resp, err := http.Get(s.Endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s within 90s\n%s", s.Endpoint, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Client is an S3 client of the server (path-style addressing, test
// credentials, us-east-1).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// Bucket creates a bucket.
func (s *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}
