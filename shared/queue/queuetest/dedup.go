package queuetest

import (
	"slices"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

func withBody(id, body string) queue.Message {
	m := message(id)
	m.Body = []byte(body)
	return m
}

func testDuplicateDetection(t *testing.T, newQueue NewQueue) {
	h := newHarness(t, newQueue, options(longLock))
	h.send(qInvites, withBody("dup", "first"))
	firstSent := time.Now()
	h.send(qInvites, withBody("dup", "second"))
	h.send(qInvites, withBody("dup", "third"), withBody("other", "other"), withBody("other", "again"))
	got := h.receiveN(qInvites, 2, 10)
	if bodies := []string{string(got[0].Body), string(got[1].Body)}; !slices.Equal(bodies, []string{"first", "other"}) {
		t.Fatalf("received %v, want [first other]: duplicates within the window must be dropped", bodies)
	}
	h.expectNone(qInvites, quiet)
	for _, d := range got {
		h.complete(d)
	}
	// Completing the first does not end its window.
	h.send(qInvites, withBody("dup", "fourth"))
	if time.Since(firstSent) >= dedupWindow {
		t.Fatalf("inconclusive: the %s window passed before the check; the machine is overloaded", dedupWindow)
	}
	h.expectNone(qInvites, quiet)
	// After the window the id is accepted again.
	time.Sleep(time.Until(firstSent.Add(dedupWindow + 50*time.Millisecond)))
	h.send(qInvites, withBody("dup", "fifth"))
	if d := h.receiveOne(qInvites); string(d.Body) != "fifth" {
		t.Errorf("after the window: got body %q, want fifth", d.Body)
	}
}
