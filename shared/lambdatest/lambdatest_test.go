package lambdatest_test

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
)

// echo is a function answering its events (testdata/echo).
const echo = "./testdata/echo"

// invoke sends payload with a generous ceiling: the test fails with the
// runtime's answer, never hangs.
func invoke(t *testing.T, rt *lambdatest.Runtime, payload string) (lambdatest.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return rt.Invoke(ctx, []byte(payload))
}

func TestInvokeAnswersWhatTheFunctionAnswers(t *testing.T) {
	rt := lambdatest.Start(t, lambdatest.Build(t, echo), nil)
	tests := []struct {
		name, payload, want, wantErr string
	}{
		{"a response", `{"echo":"hello"}`, `{"echo":"hello"}`, ""},
		{"an error", `{"fail":"no such thing"}`, "", "no such thing"},
		{"the next response", `{"echo":2}`, `{"echo":2}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := invoke(t, rt, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Payload) != tt.want || !strings.Contains(string(res.Error), tt.wantErr) || (tt.wantErr == "") != (res.Error == nil) {
				t.Errorf("got payload %s, error %s; want payload %s, error with %q", res.Payload, res.Error, tt.want, tt.wantErr)
			}
		})
	}
}

// A function that ends during an invocation fails it at once, with its output,
// rather than leaving the caller to its deadline.
func TestInvokeFailsWhenTheFunctionExits(t *testing.T) {
	rt := lambdatest.Start(t, lambdatest.Build(t, echo), nil)
	_, err := invoke(t, rt, `{"exit":3}`)
	if err == nil || !strings.Contains(err.Error(), "function exited during the invocation: exit status 3") {
		t.Fatalf("got %v, want the function's exit", err)
	}
	if _, err := invoke(t, rt, `{"echo":1}`); err == nil || !strings.Contains(err.Error(), "function exited before taking the event") {
		t.Fatalf("the next invocation: got %v, want the function's exit", err)
	}
}

// The bootstrap is built as the test binary was (so that the packages the test's
// own build compiled are reused from the build cache), with the runtime's tag.
func TestBuildUsesTheTestBinarysSettings(t *testing.T) {
	bin := lambdatest.Build(t, echo)
	got, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	self, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("the test binary has no build information")
	}
	setting := func(bi *debug.BuildInfo, key string) string {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	}
	for _, key := range []string{"CGO_ENABLED", "-race", "-trimpath", "GOOS", "GOARCH"} {
		if g, w := setting(got, key), setting(self, key); g != w {
			t.Errorf("%s = %q, the test binary's is %q", key, g, w)
		}
	}
	if tags := strings.Split(setting(got, "-tags"), ","); !slices.Contains(tags, "lambda.norpc") {
		t.Errorf("-tags = %q, want lambda.norpc among them", tags)
	}
}

// The runtime's cleanup ends even when a process the function started holds
// the function's output open.
func TestCleanupDoesNotWaitForTheFunctionsChildren(t *testing.T) {
	bin := lambdatest.Build(t, echo)
	var pid atomic.Int64
	var killed atomic.Bool
	// Past this ceiling the cleanup is taken to hang: the sleep is ended so that
	// the test reports it.
	rescue := time.AfterFunc(2*time.Minute, func() {
		if p := pid.Load(); p != 0 {
			killed.Store(true)
			_ = syscall.Kill(int(p), syscall.SIGKILL)
		}
	})
	defer rescue.Stop()
	t.Run("function starting a process", func(t *testing.T) {
		rt := lambdatest.Start(t, bin, nil)
		res, err := invoke(t, rt, `{"spawn":true}`)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ PID int64 }
		if err := json.Unmarshal(res.Payload, &out); err != nil || out.PID == 0 {
			t.Fatalf("answer %s: %v", res.Payload, err)
		}
		pid.Store(out.PID)
	})
	if p := pid.Load(); p != 0 && !killed.Load() {
		_ = syscall.Kill(int(p), syscall.SIGKILL)
	}
	if killed.Load() {
		t.Fatal("the runtime's cleanup waited for the output of a process the function started")
	}
}
