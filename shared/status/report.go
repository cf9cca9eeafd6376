// Package status reports how each direction of a deployment is doing, for
// the status function (JSON, or an HTML page for a person) and the CLI. It
// reads the store, peeks at the queues and asks the clock, through
// interfaces it declares; it writes nothing.
//
// The report is built even when a read fails: what failed is named in the
// report's errors (and turns its direction to "warning"), because a status
// page is most needed when something is broken.
//
// JSON shape of a Report (times RFC 3339 in UTC; durations in whole
// seconds; an absent or null member means "none" or "never"):
//
//	{
//	  "generatedAt": "2026-11-01T03:07:00Z",
//	  "window": {"from": "2026-10-31T03:00:00Z", "to": "2026-11-01T03:07:00Z", "bucketSeconds": 3600},
//	  "healthy": false,                    // every direction "ok" and no errors
//	  "summary": {"directions": 2, "ok": 1, "warning": 0, "paused": 1},
//	  "queues": [                          // the whole deployment, every direction
//	    {"queue": "pulls", "active": {"count": 1}, "deadLettered": {"count": 0}, "parked": {"count": 0}},
//	    {"queue": "invites", "active": {"count": 10000, "atLeast": true}, "deadLettered": {"count": 2}},
//	    {"queue": "updates", "active": {"count": 7}, "deadLettered": {"count": 0}, "error": "peek updates: ..."}
//	  ],
//	  "directions": [{
//	    "name": "contoso-to-fabrikam",
//	    "source": {"tenant": "contoso", "cloud": "public"},
//	    "target": {"tenant": "fabrikam", "cloud": "public"},
//	    "deprovision": "disable",
//	    "state": "ok",                     // "ok" | "warning" | "paused"
//	    "warnings": ["2 dead-lettered messages in invites"],
//	    "cursor": {                        // null: no pull has run yet
//	      "updatedAt": "...", "ageSeconds": 192,   // every pulled page writes the cursor
//	      "lastRoundFinishedAt": "...",            // the last pull that reached the delta link
//	      "roundInProgress": false, "fullRound": false, "roundStartedAt": "...", "roundPages": 0,
//	      "lastResyncAt": "...", "resyncReason": "..."
//	    },
//	    "paused": {"since": "...", "ageSeconds": 3600, "reason": "...", "heldDeprovisions": 12}, // null: running
//	    "subscription": {"id": "...", "expiresAt": "...", "expiresInSeconds": 86400, "renewedAt": "..."}, // null: none (timer only)
//	    "queues": [{"queue": "invites", "active": {"count": 3}, "deadLettered": {"count": 0}, "parked": {"count": 2}}, ...],
//	    "attention": {                     // the last sweep's count, raised by the log since
//	      "countedAt": "...", "conflicts": 1, "drifted": 20, "missing": 0,
//	      "refused": {"jobTitle": {"users": 3, "message": "Invalid value specified for property 'jobTitle' ..."}}
//	    },
//	    "groups": [{"sourceGroupId": "...", "sourceName": "Finance", "targetGroupId": "...",
//	                "targetName": "Finance (contoso)", "sourceMembers": 200, "members": 187,
//	                "nestedGroups": 1, "sourceDeleted": false, "refused": "", "lastRunAt": "..."}],
//	    "actions": {                       // provisioning log entries in the window
//	      "total": 40,
//	      "byAction": {"invite": {"success": 12, "failed": 1}, "skip": {"skipped": 27}},
//	      "failed": 1,
//	      "truncated": false               // true: more entries than read; counts are lower bounds
//	    },
//	    "timeline": {                      // the chart: entries per bucket
//	      "series": ["invite", "skip", "failed"],
//	      "buckets": [{"start": "2026-10-31T03:00:00Z", "counts": {"invite": 3}}, ...]
//	    },
//	    "errors": ["read cursor: ..."]
//	  }],
//	  "errors": []                          // failures not tied to one direction
//	}
//
// Queue depths count messages by peeking, at most QueueCap per queue; a
// count marked atLeast is a lower bound ("10000+"). A queue is shared by
// the directions, so each message is attributed to the direction its
// galsync-direction property names. In the timeline, a failed entry is
// counted under "failed" whatever its action, so failures stand out; the
// other entries under their action.
package status

import (
	"strconv"
	"time"
)

// States of a direction.
const (
	StateOK      = "ok"
	StateWarning = "warning"
	StatePaused  = "paused"
)

// SeriesFailed is the timeline series of failed log entries.
const SeriesFailed = "failed"

// Report is the status of a deployment.
type Report struct {
	GeneratedAt time.Time         `json:"generatedAt"`
	Window      Window            `json:"window"`
	Healthy     bool              `json:"healthy"`
	Summary     Summary           `json:"summary"`
	Queues      []QueueDepth      `json:"queues"`
	Directions  []DirectionReport `json:"directions"`
	Errors      []string          `json:"errors"`
}

// Window is the span the action counts and the timeline cover: from (now −
// Reporter.Window) rounded down to the bucket, to now.
type Window struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	BucketSeconds int64     `json:"bucketSeconds"`
}

// Bucket is the width of one timeline bucket.
func (w Window) Bucket() time.Duration { return time.Duration(w.BucketSeconds) * time.Second }

// Summary counts the directions by state.
type Summary struct {
	Directions int `json:"directions"`
	OK         int `json:"ok"`
	Warning    int `json:"warning"`
	Paused     int `json:"paused"`
}

// DirectionReport is the status of one direction.
type DirectionReport struct {
	Name         string        `json:"name"`
	Source       TenantRef     `json:"source"`
	Target       TenantRef     `json:"target"`
	Deprovision  string        `json:"deprovision,omitempty"`
	State        string        `json:"state"`
	Warnings     []string      `json:"warnings"`
	Cursor       *CursorStatus `json:"cursor"`
	Paused       *PauseStatus  `json:"paused"`
	Subscription *Subscription `json:"subscription"`
	Queues       []QueueDepth  `json:"queues"`
	Attention    Attention     `json:"attention"`
	// Groups are the direction's mirrored groups (none: mirrorGroups is
	// not set).
	Groups   []GroupStatus `json:"groups"`
	Actions  ActionCounts  `json:"actions"`
	Timeline Timeline      `json:"timeline"`
	Errors   []string      `json:"errors"`
}

// TenantRef names a tenant by its topology name and cloud (never by its
// domain or a user's address).
type TenantRef struct {
	Tenant string `json:"tenant"`
	Cloud  string `json:"cloud,omitempty"`
}

// CursorStatus is where a direction's delta pulls stand.
type CursorStatus struct {
	UpdatedAt           time.Time `json:"updatedAt,omitzero"`
	AgeSeconds          int64     `json:"ageSeconds"`
	LastRoundFinishedAt time.Time `json:"lastRoundFinishedAt,omitzero"`
	RoundInProgress     bool      `json:"roundInProgress"`
	FullRound           bool      `json:"fullRound"`
	RoundStartedAt      time.Time `json:"roundStartedAt,omitzero"`
	RoundPages          int       `json:"roundPages"`
	LastResyncAt        time.Time `json:"lastResyncAt,omitzero"`
	ResyncReason        string    `json:"resyncReason,omitempty"`
}

// Age is how long ago the cursor was last written.
func (c CursorStatus) Age() time.Duration { return time.Duration(c.AgeSeconds) * time.Second }

// PauseStatus says why a direction is paused and what it holds back.
type PauseStatus struct {
	Since            time.Time `json:"since,omitzero"`
	AgeSeconds       int64     `json:"ageSeconds"`
	Reason           string    `json:"reason"`
	HeldDeprovisions int       `json:"heldDeprovisions"`
}

// Subscription is the Graph change-notification subscription of the
// direction's source tenant (its clientState is never reported).
type Subscription struct {
	ID               string    `json:"id,omitempty"`
	ExpiresAt        time.Time `json:"expiresAt,omitzero"`
	ExpiresInSeconds int64     `json:"expiresInSeconds"`
	RenewedAt        time.Time `json:"renewedAt,omitzero"`
}

// ExpiresIn is the time left before the subscription expires (negative
// once expired).
func (s Subscription) ExpiresIn() time.Duration {
	return time.Duration(s.ExpiresInSeconds) * time.Second
}

// QueueDepth is how many messages wait in a queue and its dead-letter
// subqueue, and how many galsync parked from it.
type QueueDepth struct {
	Queue        string `json:"queue"`
	Active       Count  `json:"active"`
	DeadLettered Count  `json:"deadLettered"`
	Parked       Count  `json:"parked"`
	Error        string `json:"error,omitempty"`
}

// Attention is what needs an operator in a direction beyond the queues:
// attributes Graph refuses to write (with one of its messages; never a
// value) and conflicts with target members, as the last sweep counted
// them from the links, raised by what the log shows since.
type Attention struct {
	CountedAt time.Time                   `json:"countedAt,omitzero"`
	Refused   map[string]RefusedAttribute `json:"refused"`
	Conflicts int                         `json:"conflicts"`
	// Drifted and Missing are what the last sweep (at CountedAt) found:
	// guests that differed from their desired state, and linked guests
	// the target no longer had; both were sent for repair.
	Drifted int `json:"drifted"`
	Missing int `json:"missing"`
	// PendingAcceptance counts linked guests that have not redeemed their
	// invitation, as the last sweep read them: information, not a warning
	// (a guest that only has to be in the address list never redeems), but
	// across Microsoft clouds, where automatic redemption may not apply,
	// it says how many cannot sign in yet (docs/deploy.md).
	PendingAcceptance int `json:"pendingAcceptance"`
	// Converted: guests that were target members converted in place;
	// ManagersPending: guests whose manager reference waits for their
	// manager's guest (as the last sweep counted them).
	Converted       int `json:"converted"`
	ManagersPending int `json:"managersPending"`
	// DisabledInTarget: linked guests the target tenant disabled (not
	// galsync), which galsync leaves disabled; an operator decides.
	DisabledInTarget int `json:"disabledInTarget"`
}

// GroupStatus is one mirrored group: its source group, the target group
// galsync keeps for it, and how its members stand.
type GroupStatus struct {
	SourceGroupID string `json:"sourceGroupId"`
	SourceName    string `json:"sourceName,omitempty"`
	TargetGroupID string `json:"targetGroupId,omitempty"`
	TargetName    string `json:"targetName,omitempty"`
	// SourceMembers are the source group's direct user members; Members
	// the guests the target group was last made to hold.
	SourceMembers int `json:"sourceMembers"`
	Members       int `json:"members"`
	// NestedGroups are groups among its members, not flattened.
	NestedGroups  int       `json:"nestedGroups,omitempty"`
	SourceDeleted bool      `json:"sourceDeleted,omitempty"`
	Refused       string    `json:"refused,omitempty"`
	LastRunAt     time.Time `json:"lastRunAt,omitzero"`
}

// RefusedAttribute is an attribute Graph refuses for some users.
type RefusedAttribute struct {
	Users   int    `json:"users"`
	Message string `json:"message"`
}

// Count is a number that may be a lower bound: counting stopped at a cap.
type Count struct {
	Count   int  `json:"count"`
	AtLeast bool `json:"atLeast,omitempty"`
}

// String writes the count as a person reads it: "42", or "10000+".
func (c Count) String() string {
	if c.AtLeast {
		return strconv.Itoa(c.Count) + "+"
	}
	return strconv.Itoa(c.Count)
}

// ActionCounts counts the provisioning log entries of the window by action
// and outcome.
type ActionCounts struct {
	Total    int                       `json:"total"`
	ByAction map[string]map[string]int `json:"byAction"`
	Failed   int                       `json:"failed"`
	// Truncated: the log held more entries than the report reads; the
	// counts are lower bounds and cover the oldest part of the window.
	Truncated bool `json:"truncated,omitempty"`
}

// Timeline is the chart's data: log entries per bucket, by series.
type Timeline struct {
	// Series lists the series with at least one entry, in a fixed order
	// (invite, join, update, reenable, disable, delete, skip, pause,
	// resync, then others by name, then failed).
	Series  []string         `json:"series"`
	Buckets []TimelineBucket `json:"buckets"`
}

// TimelineBucket holds the entries from Start to Start + the window's
// bucket width; series without entries are left out of Counts.
type TimelineBucket struct {
	Start  time.Time      `json:"start"`
	Counts map[string]int `json:"counts"`
}

// Total is the bucket's entries over all series.
func (b TimelineBucket) Total() int {
	n := 0
	for _, c := range b.Counts {
		n += c
	}
	return n
}
