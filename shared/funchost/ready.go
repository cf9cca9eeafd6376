package funchost

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// waitReady polls GET / until the handler answers at all, as the host does
// (DefaultHttpWorkerService.IsWorkerReady): any status means a server is
// listening.
func (h *Host) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	const every = 100 * time.Millisecond
	var last error
	for {
		if last = h.ping(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("funchost: the handler at %s did not answer GET / within %s: %w", h.HandlerURL, readyTimeout, last)
			}
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

func (h *Host) ping(ctx context.Context) error {
	// One attempt may hang on a listener nobody serves yet: bound it.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.HandlerURL+"/", nil)
	if err != nil {
		return err
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
