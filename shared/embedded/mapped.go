package embedded

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultMappedRelease is how often the embedded backend releases the
// pages of its data file that it has read from its memory map.
//
// bbolt reads the file through a shared memory map, and every page read
// once stays mapped (with its neighbours: Linux maps up to 16 cached pages
// around each fault), so the process's resident size grew with the file:
// at 100,000 users, 32 MB of heap and 350 MB of mapped file. Released
// pages stay in the kernel's page cache (a read maps one again at the cost
// of a minor fault), so the resident size is the heap and what was read
// in the last interval, not the whole file. Measured by
// BenchmarkInitialSync at 100,000 users (337 MiB file), galsync's peak
// resident size was 150 MiB releasing every 500 ms and 130 MiB every
// 200 ms, at the same users/s; with 16 workers per queue (faster, so more
// pages read per interval) 146 MiB every 200 ms and 130 MiB every 100 ms.
const DefaultMappedRelease = 100 * time.Millisecond

// releaseMappedEvery releases the mapped pages every interval until the
// database closes.
func (db *DB) releaseMappedEvery(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.closed:
			return
		case <-t.C:
		}
		err := db.bolt.View(func(tx *bolt.Tx) error {
			return releaseMapped(db.bolt.Info().Data, int(tx.Size()))
		})
		if err != nil && !db.isClosed() {
			db.log.Warn("embedded: could not release the data file's mapped pages; the resident size will follow the file", "err", err)
			return
		}
	}
}
