package notify_test

import (
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/notify"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	var total time.Duration
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		d := notify.Backoff(n)
		if d > 12*time.Hour || d <= 0 || n > 1 && n < 11 && d < prev {
			t.Errorf("Backoff(%d) = %v after %v", n, d, prev)
		}
		prev, total = d, total+d
	}
	if total < 18*time.Hour || total > 36*time.Hour {
		t.Errorf("12 attempts span %v, want about a day", total)
	}
}
