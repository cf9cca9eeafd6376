package galsync

import "time"

// Cursor is where a direction's users/delta round stands. Link is the
// @odata.nextLink of a round in progress or the @odata.deltaLink of the last
// finished one; empty means "start a full round".
type Cursor struct {
	Direction string `json:"direction"`
	Link      string `json:"link,omitempty"`
	// Full is true while the current round started without a delta token
	// (first sync or resync); at its end, linked users not seen are removed.
	Full bool `json:"full,omitempty"`
	// FullRequested: a full round was asked for (the weekly schedule); the
	// next round starts without a token.
	FullRequested bool `json:"fullRequested,omitempty"`
	// Round identifies the round in progress; RoundPages are keyed by it.
	Round string `json:"round,omitempty"`
	// Page counts the pages already processed in the current round.
	Page int `json:"page,omitempty"`
	// NextSeq is the sequence number the next change will carry. Saved with
	// the cursor, so a re-read after a crash assigns the same numbers.
	NextSeq int64 `json:"nextSeq"`
	// DeltaObtainedAt is when the current deltaLink was issued (tokens of
	// directory objects live about 7 days).
	DeltaObtainedAt time.Time `json:"deltaObtainedAt,omitzero"`
	RoundStartedAt  time.Time `json:"roundStartedAt,omitzero"`
	LastResyncAt    time.Time `json:"lastResyncAt,omitzero"`
	// Config is the fingerprint of the direction's mapping and worker
	// settings the cursor's rounds ran under: when it changes, a sweep
	// compares every guest with its new desired state.
	Config       string    `json:"config,omitempty"`
	ResyncReason string    `json:"resyncReason,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt,omitzero"`
	// ETag is the store's version of the record; a write with a stale ETag
	// fails with ErrConflict. Empty on a write means "create".
	ETag string `json:"-"`
}

// LinkState is the life cycle of a synced user in the target.
type LinkState string

const (
	// LinkInviting: an invite worker has claimed this user and is inviting.
	LinkInviting LinkState = "inviting"
	LinkActive   LinkState = "active"
	LinkDisabled LinkState = "disabled"
	LinkDeleted  LinkState = "deleted"
	// LinkConflict: the target holds the address as a user galsync will not
	// take over (an internal member); Conflict says why and what to do. It
	// is looked at again when the source user changes or at a sweep.
	LinkConflict LinkState = "conflict"
)

// Link records that source user SourceUserID is TargetUserID in a direction,
// the newest source state galsync knows of that user, and how far the guest
// has been reconciled with it.
type Link struct {
	Direction    string    `json:"direction"`
	SourceUserID string    `json:"sourceUserId"`
	TargetUserID string    `json:"targetUserId,omitempty"`
	State        LinkState `json:"state"`
	// Source is the newest observed source state (the selected
	// attributes) and SourceSeq its sequence number: a work item older
	// than it reconciles from it instead of its own.
	Source    Snapshot `json:"source,omitempty"`
	SourceSeq int64    `json:"sourceSeq,omitempty"`
	// ReconciledSeq is the SourceSeq the guest was last found or made to
	// match, under the configuration whose fingerprint is ReconciledConfig.
	ReconciledSeq    int64     `json:"reconciledSeq,omitempty"`
	ReconciledConfig string    `json:"reconciledConfig,omitempty"`
	ReconciledAt     time.Time `json:"reconciledAt,omitzero"`
	// RetiredSeq is the sequence number of the observation that took the
	// source user out of scope (deleted, left the scope, not seen in a
	// full round), recorded when the update worker retired the guest: work
	// observed no later than it (a scheduled retry, a replay) is stale and
	// changes nothing. Only a newer observation in scope brings the guest
	// back (re-enabled, or invited again).
	RetiredSeq int64 `json:"retiredSeq,omitempty"`
	// InvitedAt is when galsync invited (or converted) the guest: Graph may
	// not show a user that new for a while (replication), so a 404 then is
	// not a deletion.
	InvitedAt time.Time `json:"invitedAt,omitzero"`
	// Refused are the attributes Graph refused to write, by target
	// attribute: they are left out until the mapping or the source value
	// changes (the fingerprint).
	Refused map[string]Refusal `json:"refused,omitempty"`
	// Conflict explains a LinkConflict.
	Conflict string `json:"conflict,omitempty"`
	// DisabledByGalsync: galsync itself disabled the guest (mirroring a
	// disabled source account, or retiring it), so galsync enables it
	// again when its source user is enabled or back in scope. A guest
	// found disabled that galsync did not disable is the target tenant's
	// block (a compromised account, say): galsync leaves accountEnabled
	// alone and records when it found it in DisabledInTargetAt, for an
	// operator; it is cleared once the guest is seen enabled again.
	DisabledByGalsync  bool      `json:"disabledByGalsync,omitempty"`
	DisabledInTargetAt time.Time `json:"disabledInTargetAt,omitzero"`
	// ConvertedAt: the guest was a member of the target that galsync
	// converted to an external user in place (existingMembers convert).
	ConvertedAt time.Time `json:"convertedAt,omitzero"`
	// ManagerPending is the source manager whose guest does not exist yet:
	// the reference is written when it does (the manager's guest announces
	// itself to its reports).
	ManagerPending string `json:"managerPending,omitempty"`
	// Announced is the guest this link last announced as new to what
	// depends on it (its reports' manager references, the mirrored
	// groups); a link whose guest changes announces again.
	Announced string `json:"announced,omitempty"`
	// ClaimedAt and ClaimSeq say when, and for which work item, a worker
	// claimed the link to write to the guest (an invitation while State is
	// inviting).
	ClaimedAt time.Time `json:"claimedAt,omitzero"`
	ClaimSeq  int64     `json:"claimSeq,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	ETag      string    `json:"-"`
}

// Refusal is an attribute Graph refused: its message (never the value)
// and the fingerprint of what was refused (mapping and value).
type Refusal struct {
	Fingerprint string    `json:"fingerprint"`
	Message     string    `json:"message"`
	At          time.Time `json:"at"`
}

// ClaimMargin is how long before a claim of the given TTL may be taken
// over (ClaimedAt plus the TTL) the worker holding it stops writing to
// Graph: a call cut off at that deadline has landed or failed before
// another worker may claim the record and write in its turn. 30 s, or a
// quarter of a TTL under 2 minutes.
func ClaimMargin(ttl time.Duration) time.Duration {
	return min(30*time.Second, ttl/4)
}

// ClearClaim ends a worker's claim on the link (its write is done, or
// given up).
func (l *Link) ClearClaim() { l.ClaimedAt, l.ClaimSeq = time.Time{}, 0 }

// Live reports whether the link stands for a guest that still exists and
// is enabled in the target.
func (l Link) Live() bool { return l.State == LinkActive || l.State == LinkInviting }

// HasGuest reports whether the link names a guest galsync made or joined
// that is not known to be gone.
func (l Link) HasGuest() bool {
	return l.TargetUserID != "" && (l.State == LinkActive || l.State == LinkDisabled)
}

// Observe records a source state if it is newer than the one kept.
func (l *Link) Observe(seq int64, source Snapshot) {
	if seq > l.SourceSeq && len(source) > 0 {
		l.Source, l.SourceSeq = source.Clone(), seq
	}
}

// RoundPage is what one delta page of a round leaves for the round's end:
// the ids it saw (for the sweep of a full round) and the deprovisioning it
// decided (held until the accidental-deletion threshold is checked). A
// sweep's page also keeps its counts, which the round's end adds up.
type RoundPage struct {
	Direction    string     `json:"direction"`
	Round        string     `json:"round"`
	Page         int        `json:"page"`
	Seen         []string   `json:"seen,omitempty"`
	Deprovisions []WorkItem `json:"deprovisions,omitempty"`
	// Read, Drifted and PendingAcceptance count a sweep page's target
	// users, the guests it sent for repair, and the linked guests that
	// have not redeemed their invitation.
	Read              int `json:"read,omitempty"`
	Drifted           int `json:"drifted,omitempty"`
	PendingAcceptance int `json:"pendingAcceptance,omitempty"`
}

// DirectionState is the operational state of a direction: paused by the
// accidental-deletion threshold, with the deprovisioning it holds for
// approval. The held work items are records of their own in the store
// (HeldPage), not part of this record: a mass deletion is what the pause
// exists for, and 15,000 held items in one record were 2.46 MB, past
// Cosmos DB's 2 MB per item.
type DirectionState struct {
	Direction   string    `json:"direction"`
	Paused      bool      `json:"paused"`
	PausedAt    time.Time `json:"pausedAt,omitzero"`
	PauseReason string    `json:"pauseReason,omitempty"`
	// HeldCount is how many deprovisions the pause holds, as counted when
	// it paused: the status page shows it without reading them.
	HeldCount int `json:"heldCount,omitempty"`
	// LegacyHeld is where a pause saved before held deprovisions had
	// records of their own kept them; approving releases them too. Nothing
	// writes it any more.
	LegacyHeld []WorkItem `json:"held,omitempty"`
	// Attention is what the last sweep found that needs an operator.
	Attention *Attention `json:"attention,omitempty"`
	// Sweep is the direction's sweep round under way, or the last one.
	Sweep     *SweepRound `json:"sweep,omitempty"`
	UpdatedAt time.Time   `json:"updatedAt,omitzero"`
	ETag      string      `json:"-"`
}

// SweepRound is a sweep of a direction's target, which may take many
// invocations (its cursor travels in its messages). One round is current
// per direction: a newer request starts a round that replaces it, and the
// replaced round's messages, when they come, stop.
type SweepRound struct {
	Round string `json:"round"`
	// RequestedAt is when the request that began the round was made: a
	// request made earlier begins nothing.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	// FinishedAt is set once the round has finished: its messages
	// delivered again do nothing.
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Replaces is the round this one replaced, whose pages it deletes.
	Replaces string `json:"replaces,omitempty"`
}

// Held counts the deprovisions a paused direction holds.
func (s DirectionState) Held() int { return s.HeldCount + len(s.LegacyHeld) }

// HeldPage is a page of the deprovisions a paused direction holds for
// approval: one store record, its items in sequence order, small enough
// for any backend (a few hundred KB).
type HeldPage struct {
	Direction string `json:"direction"`
	// FirstSeq, the first item's sequence number, is the page's key: a
	// round finished again after a crash holds the same items in the same
	// pages, and saving them again replaces them.
	FirstSeq int64      `json:"firstSeq"`
	Items    []WorkItem `json:"items"`
}

// Attention is what needs an operator in a direction, as the last sweep
// counted it from the links: attributes Graph refuses, and conflicts.
type Attention struct {
	At time.Time `json:"at"`
	// Refused: by target attribute, how many users Graph refuses it for,
	// and one of Graph's messages.
	Refused         map[string]RefusedAttribute `json:"refused,omitempty"`
	Conflicts       int                         `json:"conflicts,omitempty"`
	ConflictSamples []string                    `json:"conflictSamples,omitempty"`
	// Drifted and Missing are what the last sweep found: guests that
	// differed from their desired state (sent for repair), and linked
	// guests the target no longer had (invited again).
	Drifted int `json:"drifted,omitempty"`
	Missing int `json:"missing,omitempty"`
	// PendingAcceptance counts the linked guests that have not redeemed
	// their invitation (externalUserState PendingAcceptance): across
	// Microsoft clouds automatic redemption may not apply, and such a
	// guest cannot sign in until it redeems.
	PendingAcceptance int `json:"pendingAcceptance,omitempty"`
	// Converted counts the guests that were target members converted in
	// place; ManagersPending the guests waiting for their manager's guest.
	Converted       int `json:"converted,omitempty"`
	ManagersPending int `json:"managersPending,omitempty"`
	// DisabledInTarget counts the linked guests the target tenant disabled
	// (not galsync), which galsync leaves disabled.
	DisabledInTarget int `json:"disabledInTarget,omitempty"`
}

// RefusedAttribute counts the users one attribute is refused for.
type RefusedAttribute struct {
	Users   int    `json:"users"`
	Message string `json:"message"`
}

// Subscription is the Graph change-notification subscription galsync keeps
// on one source tenant's /users. ClientState is the secret Graph echoes in
// every notification; it lives only here, never in configuration or logs.
type Subscription struct {
	// Tenant is the topology name of the source tenant; the record's key.
	Tenant          string    `json:"tenant"`
	TenantID        string    `json:"tenantId"`
	ID              string    `json:"id,omitempty"`
	Resource        string    `json:"resource"`
	ChangeType      string    `json:"changeType"`
	NotificationURL string    `json:"notificationUrl"`
	LifecycleURL    string    `json:"lifecycleNotificationUrl,omitempty"`
	ClientState     string    `json:"clientState"`
	ExpiresAt       time.Time `json:"expiresAt,omitzero"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	RenewedAt       time.Time `json:"renewedAt,omitzero"`
	UpdatedAt       time.Time `json:"updatedAt,omitzero"`
	ETag            string    `json:"-"`
}

// Provisioning log actions.
const (
	ActionInvite   = "invite"
	ActionJoin     = "join"
	ActionUpdate   = "update"
	ActionDisable  = "disable"
	ActionDelete   = "delete"
	ActionSkip     = "skip"
	ActionPause    = "pause"
	ActionResync   = "resync"
	ActionReenable = "reenable"
	ActionApprove  = "approve" // an operator released held deprovisions
	ActionDiscard  = "discard" // an operator dropped held deprovisions
	// ActionConflict: the target holds the address as a user galsync will
	// not take over; ActionRefused: Graph refused to write an attribute
	// (Attributes names it, Reason carries Graph's message); ActionPark:
	// the work was set aside for an operator (parked queue).
	ActionConflict = "conflict"
	ActionRefused  = "refused"
	// ActionConvert: a target member was converted to an external user in
	// place; ActionManager: a guest's manager reference was written or
	// removed; ActionGroup: a mirrored group was made, or a guest added to
	// or removed from one (Reason says which).
	ActionConvert = "convert"
	ActionManager = "manager"
	ActionGroup   = "group"
	// ActionBlocked: the guest was found disabled in the target by someone
	// other than galsync; galsync leaves it disabled (Link.DisabledInTargetAt).
	ActionBlocked   = "blocked"
	ActionPark      = "park"
	ActionSweep     = "sweep"
	OutcomeSuccess  = "success"
	OutcomeSkipped  = "skipped"
	OutcomeFailed   = "failed"
	OutcomeNoChange = "nochange"
)

// LogEntry is one line of the provisioning log: an action taken or skipped
// on one user, with its reason. It names attributes, never their values.
type LogEntry struct {
	Time         time.Time `json:"time"`
	Direction    string    `json:"direction"`
	SourceUserID string    `json:"sourceUserId,omitempty"`
	TargetUserID string    `json:"targetUserId,omitempty"`
	Action       string    `json:"action"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
	Attributes   []string  `json:"attributes,omitempty"`
	Seq          int64     `json:"seq,omitempty"`
	InvocationID string    `json:"invocationId,omitempty"`
}

// LogQuery filters the provisioning log; zero fields match everything.
type LogQuery struct {
	Direction    string
	SourceUserID string
	Action       string
	Since        time.Time
	Limit        int
}
