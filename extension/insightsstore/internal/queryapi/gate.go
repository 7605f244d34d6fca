package queryapi

import (
	"context"
	"errors"
	"time"
)

// errBusy is the answer to a statement that waited gate.wait for its turn: the API answers 503 with Retry-After.
var errBusy = errors.New("the store is busy: too many queries at once")

// gate lets at most cap(slots) statements run at once, the others wait their turn. DuckDB shares its threads
// between the statements in flight, and past its threads they slow each other down more than they overlap: the
// twelve panels of a dashboard took 583 ms all at once against 244–260 ms two at a time and 304 one at a time
// (10 million events, DuckDB on 2 threads).
type gate struct {
	slots chan struct{}
	wait  time.Duration
}

// defaultGateWait is how long a statement waits for its turn before the API answers 503.
const defaultGateWait = 10 * time.Second

func newGate(statements int, wait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, max(statements, 1)), wait: wait}
}

// enter waits for a turn; leave ends it. A nil gate lets everything through.
func (g *gate) enter(ctx context.Context) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select { // a free slot needs no timer
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, errBusy
	}
}

func (g *gate) leave() { <-g.slots }
