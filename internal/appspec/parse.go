package appspec

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// FileNames are the names CodeDeploy's agent looks for at the root of a
// revision, in order.
var FileNames = []string{"appspec.yml", "appspec.yaml"}

// Find reads the appspec at the root of the revision unpacked in dir. The
// name in errors is the file's name in the revision.
func Find(dir string) (*Spec, string, error) {
	for _, name := range FileNames {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, name, fmt.Errorf("read %s: %w", name, err)
		}
		s, err := Parse(name, data)
		return s, name, err
	}
	return nil, "", fmt.Errorf("the revision has no appspec.yml at its root")
}

// Parse reads an appspec in YAML or JSON (told apart by filename). On
// failure the error is a yamlnode.ErrorList holding every problem in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Spec, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "appspec")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := &decoder{yamlnode.NewFileDecoder(filename, yamlnode.Options{QuoteScalars: true})}
	s := d.document(root)
	if len(d.Errs) > 0 || s == nil {
		return nil, d.Sorted()
	}
	return s, nil
}

var (
	serverFields = []string{"version", "os", "files", "file_exists_behavior", "permissions", "hooks"}
	otherFields  = []string{"version", "Resources", "Hooks"}
	fileFields   = []string{"source", "destination"}
	permFields   = []string{"object", "pattern", "except", "owner", "group", "mode", "acls", "context", "type"}
	ctxFields    = []string{"user", "role", "type", "range"}
	scriptFields = []string{"location", "timeout", "runas"}
	modeRE       = lazyregexp.New(`^[0-7]{1,4}$`)
)

type decoder struct {
	*yamlnode.FileDecoder
}

func (d *decoder) document(root *yaml.Node) *Spec {
	if root = d.Root(root, "appspec"); root == nil {
		return nil
	}
	d.SetLine("", root.Line)
	s := &Spec{Platform: Server, FileExistsBehavior: Disallow}
	fields := d.Mapping(root, "")
	for _, f := range fields {
		if f.Key == "Resources" || f.Key == "Hooks" {
			s.Platform = ""
		}
	}
	known := serverFields
	if s.Platform == "" {
		known = otherFields
	}
	var sawVersion, sawOS bool
	for _, f := range fields {
		p := f.Key
		switch f.Key {
		case "version":
			sawVersion = true
			s.Version = d.Scalar(f.Value, p, "0.0")
			if !d.Failed(p) && s.Version != "0.0" {
				d.Errorf(f.Line, p, "must be 0.0, the only version of the appspec format, not %s", d.Describe(f.Value))
			}
		case "Resources", "Hooks":
			if f.Key == "Resources" {
				s.Resources = d.resources(f.Value, p)
			} else {
				s.FunctionHooks = d.functionHooks(f.Value, p)
			}
		default:
			if s.Platform == "" {
				d.Unknown(f, p, known)
				continue
			}
			switch f.Key {
			case "os":
				sawOS = true
				s.OS = d.Str(f.Value, p)
				if !d.Failed(p) && s.OS != "linux" && s.OS != "windows" {
					d.Errorf(f.Line, p, "must be linux or windows, not %s", d.Describe(f.Value))
				}
			case "files":
				s.Files = d.files(f.Value, p)
			case "file_exists_behavior":
				s.FileExistsBehavior = d.Str(f.Value, p)
				switch s.FileExistsBehavior {
				case Disallow, Overwrite, Retain:
				default:
					if !d.Failed(p) {
						d.Errorf(f.Line, p, "must be DISALLOW, OVERWRITE or RETAIN, not %s", d.Describe(f.Value))
					}
				}
			case "permissions":
				s.Permissions = d.permissions(f.Value, p)
			case "hooks":
				s.Hooks, s.Custom = d.hooks(f.Value, p)
			default:
				d.Unknown(f, p, known)
			}
		}
	}
	if !sawVersion {
		d.Errorf(root.Line, "version", "missing: an appspec starts with version: 0.0")
	}
	if s.Platform == Server {
		if !sawOS {
			d.Errorf(root.Line, "os", "missing: an appspec for servers names its os (linux or windows)")
		}
		d.checkPaths(s)
	} else {
		s.Platform = d.platform(s)
	}
	return s
}

// checkPaths checks files and permissions. Destinations and objects are
// paths on the instance; the agent roots them in its install root, so a
// relative one (as in AWS's templates) is read from that root too, and none
// may climb out of it with "..". Sources and scripts stay in the revision.
func (d *decoder) checkPaths(s *Spec) {
	for i, f := range s.Files {
		fp := yamlnode.Index("files", i)
		if f.Source != "" && escapes(f.Source) {
			d.Errorf(d.LineOf(yamlnode.Join(fp, "source")), yamlnode.Join(fp, "source"), "%q leaves the revision: a source is a path inside it", f.Source)
		}
		if f.Destination != "" && climbs(f.Destination) {
			d.Errorf(d.LineOf(yamlnode.Join(fp, "destination")), yamlnode.Join(fp, "destination"), "%q climbs with ..: name the directory plainly", f.Destination)
		}
	}
	if s.OS == "windows" && len(s.Permissions) > 0 {
		d.Errorf(d.LineOf("permissions"), "permissions", "applies to linux instances only, not windows")
	}
	for i, p := range s.Permissions {
		pp := yamlnode.Join(yamlnode.Index("permissions", i), "object")
		if p.Object != "" && climbs(p.Object) {
			d.Errorf(d.LineOf(pp), pp, "%q climbs with ..: name the object plainly", p.Object)
		}
	}
}

// climbs reports whether a path has a ".." segment.
func climbs(p string) bool {
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return true
		}
	}
	return false
}

// escapes reports whether a source path climbs out of the revision.
func escapes(src string) bool {
	src = strings.ReplaceAll(src, `\`, "/")
	clean := path.Clean("/" + src)
	for _, part := range strings.Split(src, "/") {
		if part == ".." {
			return true
		}
	}
	return !strings.HasPrefix(clean, "/")
}

func (d *decoder) files(n *yaml.Node, p string) []File {
	var out []File
	for i, item := range d.List(n, p) {
		ip := yamlnode.Index(p, i)
		var f File
		var src, dst bool
		for _, fl := range d.Mapping(item, ip) {
			fp := yamlnode.Join(ip, fl.Key)
			switch fl.Key {
			case "source":
				src = true
				f.Source = d.Str(fl.Value, fp)
			case "destination":
				dst = true
				f.Destination = d.Str(fl.Value, fp)
			default:
				d.Unknown(fl, fp, fileFields)
			}
		}
		if d.Failed(ip) {
			continue
		}
		if !src || f.Source == "" {
			d.Errorf(d.LineOf(ip), yamlnode.Join(ip, "source"), "missing: the file or directory of the revision to copy (/ for all of it)")
		}
		if !dst || f.Destination == "" {
			d.Errorf(d.LineOf(ip), yamlnode.Join(ip, "destination"), "missing: the directory on the instance to copy it to")
		}
		out = append(out, f)
	}
	return out
}

func (d *decoder) permissions(n *yaml.Node, p string) []Permission {
	var out []Permission
	for i, item := range d.List(n, p) {
		ip := yamlnode.Index(p, i)
		pm := Permission{Pattern: "**"}
		for _, fl := range d.Mapping(item, ip) {
			fp := yamlnode.Join(ip, fl.Key)
			switch fl.Key {
			case "object":
				pm.Object = d.Str(fl.Value, fp)
			case "pattern":
				pm.Pattern = d.Str(fl.Value, fp)
			case "except":
				pm.Except = d.StringOrList(fl.Value, fp)
			case "owner":
				pm.Owner = d.Str(fl.Value, fp)
			case "group":
				pm.Group = d.Str(fl.Value, fp)
			case "mode":
				pm.Mode = d.Str(fl.Value, fp)
				if !d.Failed(fp) && !modeRE.MatchString(pm.Mode) {
					d.Errorf(fl.Line, fp, "must be an octal mode of up to four digits (as 755 or 0644), not %s", d.Describe(fl.Value))
				}
			case "acls":
				pm.ACLs = d.StringOrList(fl.Value, fp)
			case "context":
				pm.Context = d.context(fl.Value, fp)
			case "type":
				pm.Types = d.StringOrList(fl.Value, fp)
				for j, t := range pm.Types {
					if t != "file" && t != "directory" {
						jp := yamlnode.Index(fp, j)
						d.Errorf(d.LineOf(jp), jp, "must be file or directory, not %q", t)
					}
				}
			default:
				d.Unknown(fl, fp, permFields)
			}
		}
		if d.Failed(ip) {
			continue
		}
		if pm.Object == "" {
			d.Errorf(d.LineOf(ip), yamlnode.Join(ip, "object"), "missing: the file or directory on the instance the permissions apply to")
		}
		out = append(out, pm)
	}
	return out
}

func (d *decoder) context(n *yaml.Node, p string) *Context {
	c := &Context{}
	for _, fl := range d.Mapping(n, p) {
		fp := yamlnode.Join(p, fl.Key)
		switch fl.Key {
		case "user":
			c.User = d.Str(fl.Value, fp)
		case "role":
			c.Role = d.Str(fl.Value, fp)
		case "type":
			c.Type = d.Str(fl.Value, fp)
		case "range":
			for _, r := range d.Mapping(fl.Value, fp) {
				rp := yamlnode.Join(fp, r.Key)
				switch r.Key {
				case "low":
					c.RangeLow = d.Str(r.Value, rp)
				case "high":
					c.RangeHigh = d.Str(r.Value, rp)
				default:
					d.Unknown(r, rp, []string{"low", "high"})
				}
			}
		default:
			d.Unknown(fl, fp, ctxFields)
		}
	}
	return c
}

// hooks reads the hooks of an appspec for servers. An event that is not
// CodeDeploy's is a custom event (the agent's own tests use one) unless it
// looks like a misspelling of one of CodeDeploy's, which is an error.
func (d *decoder) hooks(n *yaml.Node, p string) (map[string][]Script, []string) {
	out := map[string][]Script{}
	var custom []string
	var hookable []string
	for _, e := range ServerEvents {
		if !Reserved[e] {
			hookable = append(hookable, e)
		}
	}
	for _, fl := range d.Mapping(n, p) {
		ep := yamlnode.Join(p, fl.Key)
		switch {
		case Reserved[fl.Key]:
			d.Errorf(fl.Line, ep, "%s is the agent's own work and cannot be hooked", fl.Key)
			continue
		case !Hookable(fl.Key):
			if hint := d.DidYouMean(fl.Key, hookable); hint != "" {
				d.Errorf(fl.Line, ep, "unknown lifecycle event%s", hint)
				continue
			}
			custom = append(custom, fl.Key)
		}
		var scripts []Script
		for i, item := range d.List(fl.Value, ep) {
			ip := yamlnode.Index(ep, i)
			var sc Script
			for _, sf := range d.Mapping(item, ip) {
				sp := yamlnode.Join(ip, sf.Key)
				switch sf.Key {
				case "location":
					sc.Location = d.Str(sf.Value, sp)
				case "timeout":
					sc.Timeout = d.timeout(sf.Value, sp)
				case "runas":
					sc.RunAs = d.Str(sf.Value, sp)
				default:
					d.Unknown(sf, sp, scriptFields)
				}
			}
			if d.Failed(ip) {
				continue
			}
			switch {
			case sc.Location == "":
				d.Errorf(d.LineOf(ip), yamlnode.Join(ip, "location"), "missing: the script's path in the revision")
			case escapes(sc.Location):
				lp := yamlnode.Join(ip, "location")
				d.Errorf(d.LineOf(lp), lp, "%q leaves the revision: a script is a path inside it", sc.Location)
			}
			scripts = append(scripts, sc)
		}
		out[fl.Key] = scripts
	}
	return out, custom
}

// timeout reads seconds, as a whole number or its text.
func (d *decoder) timeout(n *yaml.Node, p string) int {
	n = yamlnode.Resolve(n)
	var v int
	if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
		d.TypeError(n, p, "a number of seconds")
		return 0
	}
	if _, err := fmt.Sscanf(n.Value, "%d", &v); err != nil || fmt.Sprint(v) != strings.TrimLeft(n.Value, "+") {
		d.Errorf(n.Line, p, "must be a whole number of seconds, not %s", d.Describe(n))
		return 0
	}
	if v < 1 || v > MaxTimeout {
		d.Errorf(n.Line, p, "must be between 1 and %d seconds, not %d", MaxTimeout, v)
		return 0
	}
	return v
}

// singleKey reads the one-key mappings ECS and Lambda appspecs list.
func (d *decoder) singleKey(n *yaml.Node, p, what string) []yamlnode.Field {
	var out []yamlnode.Field
	for i, item := range d.List(n, p) {
		ip := yamlnode.Index(p, i)
		fs := d.Mapping(item, ip)
		if d.Failed(ip) {
			continue
		}
		if len(fs) != 1 {
			d.Errorf(d.LineOf(ip), ip, "must be a mapping of one key, the %s, not %d keys", what, len(fs))
			continue
		}
		out = append(out, fs[0])
	}
	return out
}

func (d *decoder) resources(n *yaml.Node, p string) []Resource {
	var out []Resource
	for i, f := range d.singleKey(n, p, "resource's name") {
		rp := yamlnode.Join(yamlnode.Index(p, i), f.Key)
		r := Resource{Name: f.Key}
		for _, fl := range d.Mapping(f.Value, rp) {
			fp := yamlnode.Join(rp, fl.Key)
			switch fl.Key {
			case "Type":
				r.Type = d.Str(fl.Value, fp)
				if !d.Failed(fp) && r.Type != "AWS::ECS::Service" && r.Type != "AWS::Lambda::Function" {
					d.Errorf(fl.Line, fp, "must be AWS::ECS::Service or AWS::Lambda::Function, not %s", d.Describe(fl.Value))
				}
			case "Properties":
				v := yamlnode.Resolve(fl.Value)
				if v.Kind != yaml.MappingNode {
					d.TypeError(v, fp, "a mapping")
					continue
				}
				if err := v.Decode(&r.Properties); err != nil {
					d.Errorf(fl.Line, fp, "%v", err)
				}
			default:
				d.Unknown(fl, fp, []string{"Type", "Properties"})
			}
		}
		if r.Type == "" && !d.Failed(rp) {
			d.Errorf(d.LineOf(rp), yamlnode.Join(rp, "Type"), "missing: AWS::ECS::Service or AWS::Lambda::Function")
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) functionHooks(n *yaml.Node, p string) []FunctionHook {
	var out []FunctionHook
	for i, f := range d.singleKey(n, p, "lifecycle event") {
		hp := yamlnode.Join(yamlnode.Index(p, i), f.Key)
		fn := d.Str(f.Value, hp)
		if !d.Failed(hp) && fn == "" {
			d.Errorf(f.Line, hp, "missing: the Lambda function to call")
		}
		out = append(out, FunctionHook{Event: f.Key, Function: fn})
	}
	return out
}

// platform tells ECS from Lambda by the resources' type and checks the hooks'
// events against it.
func (d *decoder) platform(s *Spec) Platform {
	pl := Platform("")
	for _, r := range s.Resources {
		switch r.Type {
		case "AWS::ECS::Service":
			pl = ECS
		case "AWS::Lambda::Function":
			pl = Lambda
		}
	}
	if pl == "" {
		if len(s.Resources) == 0 {
			d.Errorf(d.LineOf("Resources"), "Resources", "missing: an ECS or Lambda appspec names the service or function it deploys")
		}
		return pl
	}
	events := ECSEvents
	if pl == Lambda {
		events = LambdaEvents
	}
	for i, h := range s.FunctionHooks {
		ok := false
		for _, e := range events {
			ok = ok || e == h.Event
		}
		if !ok {
			hp := yamlnode.Join(yamlnode.Index("Hooks", i), h.Event)
			d.Errorf(d.LineOf(hp), hp, "not a lifecycle event of a %s deployment (%s)%s", pl, strings.Join(events, ", "), d.DidYouMean(h.Event, events))
		}
	}
	return pl
}
