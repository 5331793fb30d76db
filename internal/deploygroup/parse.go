package deploygroup

import (
	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a deployment group for `sluice deploy-group apply -f`, YAML or
// JSON (told apart by filename). deploymentConfigName defaults to
// CodeDeployDefault.OneAtATime, as CodeDeploy's does. On failure the error
// is a yamlnode.ErrorList naming file, line and field of every problem.
func Parse(filename string, data []byte) (*Group, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "deployment group")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := &decoder{yamlnode.NewFileDecoder(filename, yamlnode.Options{StrconvScalars: true})}
	g := d.document(root)
	if g == nil {
		return nil, d.Sorted()
	}
	d.Place(g.validate())
	if len(d.Errs) > 0 {
		return nil, d.Sorted()
	}
	return g, nil
}

var (
	fields         = []string{"applicationName", "deploymentGroupName", "targets", "deploymentConfigName", "minimumHealthyHosts", "autoRollbackConfiguration", "alarmConfiguration", "shiftsTraffic"}
	alarmFields    = []string{"enabled", "alarms", "ignorePollAlarmFailure", "connection", "rules", "watchSeconds"}
	ruleFields     = []string{"name", "provider", "configuration"}
	targetFields   = []string{"agentGroup", "tags"}
	minFields      = []string{"type", "value"}
	rollbackFields = []string{"enabled", "events"}
)

type decoder struct{ *yamlnode.FileDecoder }

func (d *decoder) document(root *yaml.Node) *Group {
	if root = d.Root(root, "deployment group"); root == nil {
		return nil
	}
	d.SetLine("", root.Line)
	g := &Group{Config: OneAtATime}
	for _, f := range d.Mapping(root, "") {
		p := f.Key
		switch f.Key {
		case "applicationName":
			g.Application = d.Str(f.Value, p)
		case "deploymentGroupName":
			g.Name = d.Str(f.Value, p)
		case "targets":
			for _, t := range d.Mapping(f.Value, p) {
				tp := yamlnode.Join(p, t.Key)
				switch t.Key {
				case "agentGroup":
					g.AgentGroup = d.Str(t.Value, tp)
				case "tags":
					for _, kv := range d.Mapping(t.Value, tp) {
						if g.Tags == nil {
							g.Tags = map[string]string{}
						}
						g.Tags[kv.Key] = d.Str(kv.Value, yamlnode.Join(tp, kv.Key))
					}
				default:
					d.Unknown(t, tp, targetFields)
				}
			}
		case "deploymentConfigName":
			g.Config = d.Str(f.Value, p)
			if !d.Failed(p) && g.Config != "" {
				known := false
				for _, c := range Configs {
					known = known || c == g.Config
				}
				if !known {
					d.Fail(p)
					d.Errorf(f.Line, p, "%q is not a deployment configuration%s", g.Config, d.DidYouMean(g.Config, Configs))
				}
			}
		case "minimumHealthyHosts":
			m := &MinHealthy{}
			for _, mf := range d.Mapping(f.Value, p) {
				mp := yamlnode.Join(p, mf.Key)
				switch mf.Key {
				case "type":
					m.Type = d.Str(mf.Value, mp)
				case "value":
					m.Value = d.Int(mf.Value, mp)
				default:
					d.Unknown(mf, mp, minFields)
				}
			}
			g.MinimumHealthyHosts = m
		case "autoRollbackConfiguration":
			for _, rf := range d.Mapping(f.Value, p) {
				rp := yamlnode.Join(p, rf.Key)
				switch rf.Key {
				case "enabled":
					g.AutoRollback.Enabled = d.Bool(rf.Value, rp)
				case "events":
					g.AutoRollback.Events = d.Strings(rf.Value, rp)
				default:
					d.Unknown(rf, rp, rollbackFields)
				}
			}
		case "alarmConfiguration":
			d.alarms(&g.Alarms, f.Value, p)
		case "shiftsTraffic":
			g.ShiftsTraffic = d.Bool(f.Value, p)
		default:
			d.Unknown(f, p, fields)
		}
	}
	return g
}

func (d *decoder) alarms(a *Alarms, n *yaml.Node, p string) {
	for _, f := range d.Mapping(n, p) {
		fp := yamlnode.Join(p, f.Key)
		switch f.Key {
		case "enabled":
			a.Enabled = d.Bool(f.Value, fp)
		case "ignorePollAlarmFailure":
			a.IgnorePollAlarmFailure = d.Bool(f.Value, fp)
		case "connection":
			a.Connection = d.Str(f.Value, fp)
		case "watchSeconds":
			a.WatchSeconds = d.Int(f.Value, fp)
		case "alarms":
			for i, item := range d.List(f.Value, fp) {
				ip := yamlnode.Index(fp, i)
				var al Alarm
				for _, af := range d.Mapping(item, ip) {
					if af.Key != "name" {
						d.Unknown(af, yamlnode.Join(ip, af.Key), []string{"name"})
						continue
					}
					al.Name = d.Str(af.Value, yamlnode.Join(ip, "name"))
				}
				a.Alarms = append(a.Alarms, al)
			}
		case "rules":
			for i, item := range d.List(f.Value, fp) {
				ip := yamlnode.Index(fp, i)
				var r Rule
				for _, rf := range d.Mapping(item, ip) {
					rp := yamlnode.Join(ip, rf.Key)
					switch rf.Key {
					case "name":
						r.Name = d.Str(rf.Value, rp)
					case "provider":
						r.Provider = d.Str(rf.Value, rp)
					case "configuration":
						r.Configuration = map[string]string{}
						for _, kv := range d.Mapping(rf.Value, rp) {
							r.Configuration[kv.Key] = d.Str(kv.Value, yamlnode.Join(rp, kv.Key))
						}
					default:
						d.Unknown(rf, rp, ruleFields)
					}
				}
				a.Rules = append(a.Rules, r)
			}
		default:
			d.Unknown(f, fp, alarmFields)
		}
	}
}
