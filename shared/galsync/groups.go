package galsync

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Group roles of a GroupPair.
const (
	// GroupMirror: a source security group mirrored into the target as a
	// security group whose members are the guests of its members.
	GroupMirror = "mirror"
	// GroupScope: a source group whose members alone are in a direction's
	// scope (scope.includeGroups); it has no target group.
	GroupScope = "scope"
)

// MaxGroupMembers bounds the direct members galsync keeps of one source
// group: they live in one store record, and a Cosmos DB item holds at most
// 2 MB (learn.microsoft.com/azure/cosmos-db/concepts-limits); a GUID takes
// about 40 bytes of JSON. A group past it is reported, not mirrored.
const MaxGroupMembers = 40_000

// GroupPair is what galsync keeps of one source group of a direction: its
// direct user members as groups/delta reported them, the delta link to
// read its changes from, and, for a mirrored group, the target security
// group made for it and a digest of the membership last written there.
type GroupPair struct {
	Direction     string `json:"direction"`
	Role          string `json:"role"`
	SourceGroupID string `json:"sourceGroupId"`
	SourceName    string `json:"sourceName,omitempty"`
	// DeltaLink is the groups/delta link of this group's next round;
	// empty: the next read is a full round.
	DeltaLink string `json:"deltaLink,omitempty"`
	// Members are the group's direct user members (source ids), sorted.
	Members []string `json:"members,omitempty"`
	// Nested are the groups among its direct members: not flattened, so
	// their members are not members here (reported).
	Nested []string `json:"nested,omitempty"`
	// SourceDeletedAt: the source group is gone; its target group is left
	// in place and no longer managed.
	SourceDeletedAt time.Time `json:"sourceDeletedAt,omitzero"`
	// TargetGroupID and TargetName: the mirrored group in the target.
	TargetGroupID string    `json:"targetGroupId,omitempty"`
	TargetName    string    `json:"targetName,omitempty"`
	TargetMadeAt  time.Time `json:"targetMadeAt,omitzero"`
	// Applied is the digest of the target membership galsync last made
	// (or found) equal to the desired one; AppliedCount its size.
	Applied      string `json:"applied,omitempty"`
	AppliedCount int    `json:"appliedCount,omitempty"`
	// Refused says why galsync does not manage the group (a target group
	// of that name it did not make, too many members).
	Refused string `json:"refused,omitempty"`
	// ClaimedAt: a run is writing this pair (ETag-guarded), so two runs
	// never create two target groups or write the same members twice.
	ClaimedAt time.Time `json:"claimedAt,omitzero"`
	LastRunAt time.Time `json:"lastRunAt,omitzero"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	ETag      string    `json:"-"`
}

// Key is the pair's key within its direction.
func (p GroupPair) Key() string { return GroupPairKey(p.Role, p.SourceGroupID) }

// GroupPairKey is the key of the pair of a role and a source group.
func GroupPairKey(role, sourceGroupID string) string {
	return role + ":" + strings.ToLower(sourceGroupID)
}

// HasMember reports whether source user id is a direct member.
func (p GroupPair) HasMember(id string) bool {
	_, found := slices.BinarySearch(p.Members, strings.ToLower(id))
	return found
}

// MembershipDigest identifies a set of object ids, in any order.
func MembershipDigest(ids []string) string {
	sorted := make([]string, len(ids))
	for i, id := range ids {
		sorted[i] = strings.ToLower(id)
	}
	slices.Sort(sorted)
	h := sha256.New()
	for _, id := range sorted {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// DirectoryObject is a member of a group as Graph lists it: an id and its
// type ("user", "group", ...).
type DirectoryObject struct {
	ID   string
	Type string
}

// SourceGroup is one groups/delta entry: a group with its property
// changes and member changes (members@delta), or its removal. A group
// with many members may come back in several entries, each with part of
// its member changes.
type SourceGroup struct {
	ID          string
	DisplayName string
	// Removed is Graph's @removed reason when the group itself is gone.
	Removed        string
	Added, Dropped []DirectoryObject
}

// GroupDeltaPage is one page of groups/delta.
type GroupDeltaPage struct {
	Groups    []SourceGroup
	NextLink  string
	DeltaLink string
}

// TargetGroup is a group of a target tenant.
type TargetGroup struct {
	ID              string
	DisplayName     string
	Description     string
	SecurityEnabled bool
	MailEnabled     bool
}

// NewGroup is a security group to create, with up to 20 first members.
type NewGroup struct {
	DisplayName  string
	Description  string
	MailNickname string
	Members      []string
}

// MemberWrites is what writing a group's members did: how many
// membership changes were made (a member added or removed) and in how
// many requests.
type MemberWrites struct {
	Changes, Requests int
	// Failed are the members whose change Graph refused or could not
	// find, with the error; a failure of the whole call is its error.
	Failed map[string]error
}
