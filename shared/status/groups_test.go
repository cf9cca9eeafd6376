package status

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

// TestMirroredGroupsAndConversions: the report lists a direction's
// mirrored groups (scope groups are not), warns of the ones galsync does
// not keep, and counts conversions and managers waiting; the page shows
// them.
func TestMirroredGroupsAndConversions(t *testing.T) {
	st := healthy()
	st.pairs = map[string][]galsync.GroupPair{dirAB: {
		{Direction: dirAB, Role: galsync.GroupMirror, SourceGroupID: "g1", SourceName: "Finance", TargetGroupID: "t1",
			TargetName: "Finance (contoso)", Members: []string{"a", "b"}, Nested: []string{"g9"}, AppliedCount: 2, LastRunAt: now},
		{Direction: dirAB, Role: galsync.GroupMirror, SourceGroupID: "g2", SourceName: "Old", TargetGroupID: "t2",
			TargetName: "Old (contoso)", SourceDeletedAt: now.Add(-time.Hour)},
		{Direction: dirAB, Role: galsync.GroupMirror, SourceGroupID: "g3", Refused: "the target has a group named \"X\" that galsync did not make"},
		{Direction: dirAB, Role: galsync.GroupScope, SourceGroupID: "g4", Members: []string{"a"}},
	}}
	st.states[dirAB] = galsync.DirectionState{Direction: dirAB, Attention: &galsync.Attention{At: now.Add(-time.Hour), Converted: 50, ManagersPending: 3}}
	st.log = []galsync.LogEntry{{Time: now.Add(-time.Minute), Direction: dirAB, SourceUserID: "u9", Action: galsync.ActionConvert, Outcome: galsync.OutcomeSuccess}}
	rep := reporter(st, &fakeQueue{}).Report(t.Context())
	d := rep.Directions[0]
	if d.Name != dirAB {
		t.Fatalf("first direction %s", d.Name)
	}
	if len(d.Groups) != 3 || d.Groups[0].SourceMembers != 2 || d.Groups[0].Members != 2 || d.Groups[0].NestedGroups != 1 ||
		!d.Groups[1].SourceDeleted || d.Groups[2].Refused == "" {
		t.Fatalf("groups = %+v", d.Groups)
	}
	if d.Attention.Converted != 51 || d.Attention.ManagersPending != 3 {
		t.Errorf("attention = %+v, want 51 converted (50 counted, 1 logged since) and 3 pending", d.Attention)
	}
	warn := strings.Join(d.Warnings, "\n")
	if !strings.Contains(warn, "source group g2 (Old) was deleted") || !strings.Contains(warn, "mirrored group g3 is not kept") {
		t.Errorf("warnings = %q", d.Warnings)
	}
	if d.State != StateWarning {
		t.Errorf("state %s, want warning", d.State)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Mirrored groups", "Finance (contoso)", "1 nested, not flattened", "source deleted", "Converted members", "Managers pending"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
