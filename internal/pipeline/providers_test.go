package pipeline

import (
	"slices"
	"sort"
	"testing"
)

func TestLookupProvider(t *testing.T) {
	tests := []struct {
		name     string
		category string
		owner    string
		runnable bool
	}{
		{"Commands", CategoryCompute, OwnerAWS, true},
		{"Noop", CategoryBuild, OwnerAWS, true},
		{"Git", CategorySource, OwnerAWS, true},
		{"CodeCommit", CategorySource, OwnerAWS, true},
		{"GitRemote", CategorySource, OwnerAWS, true},
		{"Build", CategoryBuild, OwnerAWS, true},
		{"CodeBuild", CategoryBuild, OwnerAWS, true},
		{"Manual", CategoryApproval, OwnerAWS, true},
		{"PipelineGate", CategoryApproval, OwnerAWS, true},
		{"Pipeline", CategoryInvoke, OwnerAWS, true},
		{"Function", CategoryInvoke, OwnerAWS, true},
		{"Lambda", CategoryInvoke, OwnerAWS, true},
		{"PipelineUpdate", CategoryDeploy, OwnerAWS, true},
		{"S3", CategorySource, OwnerAWS, true}, // as a deploy action only
		{"CodeDeploy", CategoryDeploy, OwnerAWS, true},
		{"GitHub", CategorySource, OwnerThirdParty, true},
		{"CodeStarSourceConnection", CategorySource, OwnerAWS, true},
		{"CodeConnections", CategorySource, OwnerAWS, true},
		{"OpsWorks", CategoryDeploy, OwnerAWS, false},
	}
	for _, tt := range tests {
		info, ok := LookupProvider(tt.name)
		if !ok {
			t.Errorf("LookupProvider(%q) not found", tt.name)
			continue
		}
		if info.Name != tt.name || info.Category != tt.category || info.Owner != tt.owner || info.Runnable != tt.runnable {
			t.Errorf("LookupProvider(%q) = %+v", tt.name, info)
		}
		if info.Categories[0] != info.Category {
			t.Errorf("%s: Categories %v do not start with Category %q", tt.name, info.Categories, info.Category)
		}
	}
	for _, name := range []string{"", "commands", "Comands", "Jenkins"} {
		if _, ok := LookupProvider(name); ok {
			t.Errorf("LookupProvider(%q) found a provider", name)
		}
	}
}

func TestLookupProviderReturnsCopies(t *testing.T) {
	info, _ := LookupProvider("CodeCommit")
	info.Categories[0] = "Changed"
	info.RequiredConfiguration[0] = "Changed"
	again, _ := LookupProvider("CodeCommit")
	if again.Categories[0] != CategorySource || again.RequiredConfiguration[0] != "RepositoryName" {
		t.Errorf("LookupProvider shares its table: %+v", again)
	}
}

func TestProvidersTable(t *testing.T) {
	names := Providers()
	if !sort.StringsAreSorted(names) {
		t.Errorf("Providers() not sorted: %v", names)
	}
	if len(names) != len(providers) {
		t.Errorf("Providers() has %d names, table has %d", len(names), len(providers))
	}
	for _, name := range names {
		info, _ := LookupProvider(name)
		if !providerNameRE.MatchString(name) {
			t.Errorf("%s: not a valid provider name", name)
		}
		if !slices.Contains(owners, info.Owner) || info.Owner == OwnerCustom {
			t.Errorf("%s: owner %q", name, info.Owner)
		}
		for _, c := range info.Categories {
			if !slices.Contains(categories, c) {
				t.Errorf("%s: unknown category %q", name, c)
			}
		}
		if info.MinInputs < 0 || (info.MaxInputs != NoLimit && info.MaxInputs < info.MinInputs) ||
			info.MinOutputs < 0 || (info.MaxOutputs != NoLimit && info.MaxOutputs < info.MinOutputs) {
			t.Errorf("%s: bad artifact bounds %+v", name, info)
		}
		if info.MinTimeout < 1 || info.MaxTimeout < info.MinTimeout {
			t.Errorf("%s: bad timeout bounds %d..%d", name, info.MinTimeout, info.MaxTimeout)
		}
	}
}

// The server holds exactly the actions that wait outside their pipeline or
// change it; every one of them can run.
func TestHeldProviders(t *testing.T) {
	want := []string{ProviderManual, ProviderPipeline, ProviderPipelineGate, ProviderPipelineUpdate}
	if got := HeldProviders(); !slices.Equal(got, want) {
		t.Fatalf("HeldProviders() = %v, want %v", got, want)
	}
	for _, name := range Providers() {
		info, _ := LookupProvider(name)
		if info.Held && !info.Runnable {
			t.Errorf("%s is held but cannot run", name)
		}
		if IsHeld(name) != info.Held {
			t.Errorf("IsHeld(%s) = %v, want %v", name, IsHeld(name), info.Held)
		}
	}
	if IsHeld("NoSuchProvider") {
		t.Error("an unknown provider is held")
	}
}
