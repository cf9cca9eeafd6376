package queue_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/queue"
)

func TestFitID(t *testing.T) {
	long := "contoso-to-fabrikam-a-direction-name-of-sixty-three-characters-:" + strings.Repeat("0123456789", 8) + "/exists:8b9c5a3e/replay-2"
	for _, tc := range []struct {
		name, id string
	}{
		{"short", "a-to-b:user:42:upsert"},
		{"exactly 128", strings.Repeat("x", 128)},
		{"129", strings.Repeat("x", 129)},
		{"long", long},
		{"multibyte", strings.Repeat("é", 100) + strings.Repeat("𝄞", 40)},
		{"invalid utf-8", strings.Repeat("a", 90) + "\xff\xfe" + strings.Repeat("b", 90)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := queue.FitID(tc.id)
			if n := queue.IDLength(got); n > queue.MaxMessageIDLength {
				t.Fatalf("FitID gave %d characters, want at most %d", n, queue.MaxMessageIDLength)
			}
			if err := queue.CheckID(got); err != nil {
				t.Errorf("CheckID(FitID(id)): %v", err)
			}
			if got != queue.FitID(tc.id) {
				t.Error("FitID is not deterministic")
			}
			if queue.IDLength(tc.id) <= queue.MaxMessageIDLength {
				if got != tc.id {
					t.Errorf("an id Service Bus accepts was changed: %q -> %q", tc.id, got)
				}
				return
			}
			if !strings.HasPrefix(tc.id, got[:40]) && tc.name != "invalid utf-8" {
				t.Errorf("FitID(%q) = %q does not keep a readable prefix", tc.id, got)
			}
			if other := queue.FitID(tc.id + "x"); other == got {
				t.Errorf("two different long ids fit to the same id %q", got)
			}
		})
	}
	// Ids that differ only past the prefix still differ once fitted.
	a, b := queue.FitID(long+"/replay-1"), queue.FitID(long+"/replay-2")
	if a == b {
		t.Errorf("ids differing only at the end fit to the same id %q", a)
	}
}

func TestCheckMessage(t *testing.T) {
	ok := queue.Message{ID: strings.Repeat("i", 128), Body: make([]byte, 1000)}
	if err := queue.CheckMessage(ok); err != nil {
		t.Errorf("128-character id: %v", err)
	}
	tooLong := ok
	tooLong.ID += "i"
	if err := queue.CheckMessage(tooLong); !errors.Is(err, queue.ErrMessageIDTooLong) || !strings.Contains(err.Error(), "129 characters") {
		t.Errorf("129-character id: %v, want ErrMessageIDTooLong naming 129 characters", err)
	}
	big := queue.Message{ID: "big", Body: make([]byte, queue.MaxMessageSize)}
	if err := queue.CheckMessage(big); !errors.Is(err, queue.ErrMessageTooLarge) || !strings.Contains(err.Error(), "exceeds the limit (262144 bytes)") {
		t.Errorf("256 KB body: %v, want ErrMessageTooLarge with Service Bus's text", err)
	}
	// The envelope of a batch repeats everything but the body, so large
	// properties count twice.
	props := queue.Message{ID: "props", Properties: map[string]string{"p": strings.Repeat("v", queue.MaxMessageSize/2)}}
	if err := queue.CheckMessage(props); !errors.Is(err, queue.ErrMessageTooLarge) {
		t.Errorf("128 KB of properties: %v, want ErrMessageTooLarge", err)
	}
	scheduled := queue.Message{ID: "s", ScheduledAt: time.Now()}
	if queue.EncodedSize(scheduled) <= queue.EncodedSize(queue.Message{ID: "s"}) {
		t.Error("a scheduled time adds nothing to the size")
	}
}
