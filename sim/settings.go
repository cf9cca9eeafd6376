package sim

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// DirectorySettings are the directory behaviours a test turns on or off
// while the simulator runs; Options sets their starting values.
type DirectorySettings struct {
	// ReplicationDelayMS hides a user that POST /invitations just created
	// (or converted), or that the control API just created, from every
	// Graph read and write for this long: GET, PATCH and DELETE answer 404
	// Request_ResourceNotFound and lists and $filter lookups leave it out.
	// Graph documents such 404s for directory objects just created: "it's
	// possible for the Create team call to fail with a 404 error code due
	// to replication delays" (https://learn.microsoft.com/graph/api/team-put-teams);
	// the exact length is not documented, hence a setting. The invitation
	// service itself wrote the user, so POST /invitations still finds it.
	// users/delta is not delayed: a round may list a user that GET does
	// not find yet, as reads served by different replicas do.
	ReplicationDelayMS int `json:"replicationDelayMs"`
	// MailUserAddressListReadOnly refuses a PATCH carrying
	// showInAddressList for a user with mail, as Entra cross-tenant
	// synchronization's known issues describe: "the showInAddressList
	// attribute is updated as long as the B2B collaboration user doesn't
	// have a mailbox enabled in the target tenant"; past that, Exchange
	// Online owns it (Set-MailUser -HiddenFromAddressListsEnabled)
	// (https://learn.microsoft.com/entra/identity/app-provisioning/known-issues).
	// Off by default because galsync's current default mapping writes it.
	MailUserAddressListReadOnly bool `json:"mailUserAddressListReadOnly"`
}

func (d DirectorySettings) validate() error {
	if d.ReplicationDelayMS < 0 {
		return errors.New("sim: directory settings: replicationDelayMs must not be negative")
	}
	return nil
}

// settingsBox holds the current DirectorySettings.
type settingsBox struct {
	mu sync.RWMutex
	v  DirectorySettings
}

func (b *settingsBox) get() DirectorySettings {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.v
}

func (b *settingsBox) set(v DirectorySettings) {
	b.mu.Lock()
	b.v = v
	b.mu.Unlock()
}

// SetDirectorySettings changes the directory behaviours from now on; a
// user already hidden by replication stays hidden until its own time.
func (s *Server) SetDirectorySettings(d DirectorySettings) error {
	if err := d.validate(); err != nil {
		return err
	}
	s.settings.set(d)
	return nil
}

// DirectorySettings returns the directory behaviours in force.
func (s *Server) DirectorySettings() DirectorySettings { return s.settings.get() }

// replicatedAt is when a user written now becomes visible to Graph reads.
func (s *Server) replicatedAt() time.Time {
	d := s.settings.get().ReplicationDelayMS
	if d <= 0 {
		return time.Time{}
	}
	return s.now().Add(time.Duration(d) * time.Millisecond)
}

func (s *Server) ctlGetDirectorySettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.DirectorySettings())
}

func (s *Server) ctlSetDirectorySettings(w http.ResponseWriter, r *http.Request) {
	var d DirectorySettings
	if err := decodeControl(r, &d); err != nil {
		ctlError(w, err)
		return
	}
	if err := s.SetDirectorySettings(d); err != nil {
		ctlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
