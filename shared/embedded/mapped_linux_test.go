//go:build linux

package embedded_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/embedded"
	"github.com/galsync/galsync/shared/galsync"
	"github.com/galsync/galsync/shared/queue"
)

// rssFile is the process's resident file-backed memory, in KiB.
func rssFile(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseMappedPages: pages of the data file read through bbolt's map
// count in the resident size until released; released, they no longer
// do, and reading them again still works.
func TestReleaseMappedPages(t *testing.T) {
	db := open(t, embedded.WithoutSync(embedded.Options{MappedRelease: -1,
		Queues: allQueues(queue.Options{LockDuration: time.Minute, MaxDeliveryCount: 10})}))
	ctx := t.Context()
	const n, size = 600, 64 << 10 // 37.5 MiB of messages
	batch := make([]queue.Message, 0, 50)
	for i := range n {
		m := msg(fmt.Sprintf("m-%d", i))
		m.Body = make([]byte, size)
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			must(t, db.Send(ctx, galsync.QueueUpdates, batch...))
			batch = batch[:0]
		}
	}
	peek := func() {
		for from := int64(0); ; {
			ds, err := db.Peek(ctx, galsync.QueueUpdates, from, 100)
			must(t, err)
			if len(ds) == 0 {
				return
			}
			from = ds[len(ds)-1].SequenceNumber + 1
		}
	}
	peek()
	before := rssFile(t)
	must(t, embedded.ReleaseMapped(db))
	after := rssFile(t)
	if before-after < 30<<10 {
		t.Errorf("resident file pages %d KiB before the release, %d KiB after: want at least 30 MiB fewer", before, after)
	}
	peek() // still readable
	if again := rssFile(t); again-after < 30<<10 {
		t.Errorf("reading the released pages again mapped %d KiB, want them back (at least 30 MiB)", again-after)
	}
}
