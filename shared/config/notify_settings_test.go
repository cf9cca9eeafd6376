package config

import (
	"strings"
	"testing"
	"time"
)

func TestNotificationSettingsDefaults(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY_FILE", "/tmp/t.json")
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.NotifyURL != "" || s.LifecycleURL != "" || s.SubscriptionSchedule != "0 */30 * * * *" || s.NotifyCoalesceWindow != time.Second {
		t.Errorf("defaults = %+v", s)
	}
}

func TestNotificationSettingsAreChecked(t *testing.T) {
	t.Setenv("GALSYNC_TOPOLOGY_FILE", "/tmp/t.json")
	t.Setenv("GALSYNC_LIFECYCLE_URL", "ftp://example.com/lifecycle")
	t.Setenv("GALSYNC_NOTIFY_COALESCE_WINDOW", "1m")
	_, err := LoadSettings()
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{`GALSYNC_LIFECYCLE_URL: "ftp://example.com/lifecycle" is not an absolute http(s) URL`,
		"GALSYNC_LIFECYCLE_URL: is set but GALSYNC_NOTIFY_URL is not", "GALSYNC_NOTIFY_COALESCE_WINDOW: must be at most 10s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	t.Setenv("GALSYNC_NOTIFY_URL", "https://galsync.azurewebsites.net/api/notify")
	t.Setenv("GALSYNC_LIFECYCLE_URL", "https://galsync.azurewebsites.net/api/lifecycle")
	t.Setenv("GALSYNC_NOTIFY_COALESCE_WINDOW", "500ms")
	if _, err := LoadSettings(); err != nil {
		t.Errorf("good settings refused: %v", err)
	}
}
