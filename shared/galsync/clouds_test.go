package galsync

import (
	"strings"
	"testing"
)

func TestSameEntraCloud(t *testing.T) {
	for _, tt := range []struct {
		a, b Cloud
		want bool
	}{
		{CloudPublic, CloudPublic, true},
		{CloudUSGov, CloudUSGovDoD, true}, // both Azure Government
		{CloudUSGovDoD, CloudUSGov, true},
		{CloudUSGovDoD, CloudUSGovDoD, true},
		{CloudPublic, CloudUSGov, false},
		{CloudPublic, CloudChina, false},
		{CloudUSGovDoD, CloudChina, false},
		{"mars", "mars", false},
	} {
		if got := SameEntraCloud(tt.a, tt.b); got != tt.want {
			t.Errorf("SameEntraCloud(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestB2BPairProblem(t *testing.T) {
	possible := [][2]Cloud{
		{CloudPublic, CloudPublic}, {CloudPublic, CloudUSGov}, {CloudUSGovDoD, CloudPublic},
		{CloudPublic, CloudChina}, {CloudChina, CloudPublic}, {CloudUSGov, CloudUSGovDoD},
		{CloudChina, CloudChina}, {"mars", CloudChina},
	}
	for _, p := range possible {
		if err := B2BPairProblem(p[0], p[1]); err != nil {
			t.Errorf("B2BPairProblem(%s, %s) = %v, want nil", p[0], p[1], err)
		}
	}
	for _, p := range [][2]Cloud{{CloudUSGov, CloudChina}, {CloudChina, CloudUSGovDoD}, {CloudUSGovDoD, CloudChina}} {
		err := B2BPairProblem(p[0], p[1])
		if err == nil {
			t.Fatalf("B2BPairProblem(%s, %s) = nil, want an error", p[0], p[1])
		}
		for _, want := range []string{string(p[0]), string(p[1]), "Azure Government", "21Vianet", "cannot collaborate", "cross-cloud-settings"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("B2BPairProblem(%s, %s) = %q, want it to name %q", p[0], p[1], err, want)
			}
		}
	}
}
