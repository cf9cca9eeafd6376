package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/galsync/galsync/shared/store"
)

func TestCheckItem(t *testing.T) {
	for _, tc := range []struct {
		name, id, pk string
		size         int
		want         error
	}{
		{"fits", "u1", "a-to-b", 1000, nil},
		{"255 characters", strings.Repeat("i", 255), "a-to-b", 1000, nil},
		{"256 characters", strings.Repeat("i", 256), "a-to-b", 1000, store.ErrInvalidKey},
		{"255 two-byte characters", strings.Repeat("é", 255), "a-to-b", 1000, nil},
		{"128 characters of two UTF-16 units", strings.Repeat("𝄞", 128), "a-to-b", 1000, store.ErrInvalidKey},
		{"empty id", "", "a-to-b", 1000, store.ErrInvalidKey},
		{"slash", "a/b", "a-to-b", 1000, store.ErrInvalidKey},
		{"backslash", `a\b`, "a-to-b", 1000, store.ErrInvalidKey},
		{"question mark", "a?b", "a-to-b", 1000, store.ErrInvalidKey},
		{"hash", "a#b", "a-to-b", 1000, store.ErrInvalidKey},
		{"escaped", store.ItemID("a/b\\c?d#e%f"), "a-to-b", 1000, nil},
		{"partition key of 2 KB", "u", strings.Repeat("p", 2048), 1000, nil},
		{"partition key over 2 KB", "u", strings.Repeat("p", 2049), 1000, store.ErrInvalidKey},
		{"2 MB", "u", "a-to-b", store.MaxItemSize, nil},
		{"over 2 MB", "u", "a-to-b", store.MaxItemSize + 1, store.ErrTooLarge},
	} {
		err := store.CheckItem(tc.id, tc.pk, tc.size)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := store.ItemID("a/b\\c?d#e%f"); got != "a%2Fb%5Cc%3Fd%23e%25f" {
		t.Errorf("ItemID = %q", got)
	}
}
