package sim

import (
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sync"
)

// idSource makes object ids. It is seeded so that a run that repeats the
// same calls gets the same ids, which keeps golden files stable.
type idSource struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newIDSource(seed uint64) *idSource {
	return &idSource{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

func (s *idSource) guid() string {
	s.mu.Lock()
	a, b := s.r.Uint64(), s.r.Uint64()
	s.mu.Unlock()
	return guidFrom(a, b)
}

// guidFrom lays two random words out as a version 4 GUID, the shape Entra
// object ids have.
func guidFrom(a, b uint64) string {
	var u [16]byte
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// chanceSource draws the random numbers fault injection compares with its
// rates; seeded, so a run's faults repeat.
type chanceSource struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newChanceSource(seed uint64) *chanceSource {
	return &chanceSource{r: rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))}
}

// hit reports true with probability p (p ≥ 1 always, p ≤ 0 never).
func (c *chanceSource) hit(p float64) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.r.Float64() < p
}

// randomBytes reads from the operating system's generator; secrets, access
// tokens and MAC keys must not be predictable.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = crand.Read(b) // never fails since Go 1.24
	return b
}

func randomToken(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

func requestID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
