package devstack

import (
	"context"
	"time"
)

// pollReady calls ping every interval until it succeeds, the process exits or ctx
// ends. A success counts only while the process still runs: another process may be
// answering on a port that ours failed to bind.
func pollReady(ctx context.Context, every time.Duration, exited <-chan struct{}, exitedEarly func() error,
	ping func(context.Context) error, timedOut func(last error) error) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := ping(ctx)
		if err == nil {
			select {
			case <-exited:
				return exitedEarly()
			default:
				return nil
			}
		}
		select {
		case <-exited:
			return exitedEarly()
		case <-ctx.Done():
			return timedOut(err)
		case <-tick.C:
		}
	}
}
