package buildproject

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a build project for `sluice project apply -f`, in YAML or JSON:
// sluice's own shape, or the input of `aws codebuild create-project
// --cli-input-json`, whose fields that do not apply here (artifacts,
// serviceRole, environment.image…) are accepted and ignored. Absent fields
// take the defaults. filename is used in errors and to tell JSON from YAML.
// On failure the error is a yamlnode.ErrorList holding every problem, in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Project, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "build project")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	d := newDecoder(filename)
	p := d.document(root)
	if p == nil {
		return nil, d.Sorted()
	}
	for _, e := range p.validate(filename, d.inlineLine) {
		// Validate names fields by sluice's shape; CodeBuild's nests some.
		for _, what := range []string{"buildspec", "environmentVariables"} {
			if rest, ok := strings.CutPrefix(e.Path, what); ok && d.given[what] != "" {
				e.Path = d.given[what] + rest
			}
		}
		if d.Failed(e.Path) {
			continue // its value did not decode; that was reported already
		}
		if e.Line == 0 {
			e.File, e.Line = filename, d.LineOf(e.Path)
		}
		d.Errs = append(d.Errs, e)
	}
	if len(d.Errs) > 0 {
		return nil, d.Sorted()
	}
	return p, nil
}

var (
	projectFields = []string{"name", "description", "buildspec", "environmentVariables", "timeoutInMinutes", "isolation", "network", "source", "environment", "serviceRole", "connection"}
	// CodeBuild's create-project fields that do not apply here.
	ignoredFields = []string{"artifacts", "secondarySources", "secondarySourceVersions", "secondaryArtifacts", "sourceVersion",
		"cache", "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "badgeEnabled", "logsConfig",
		"fileSystemLocations", "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit"}
	sourceFields = []string{"buildspec", "type", "location", "gitCloneDepth", "gitSubmodulesConfig", "auth", "reportBuildStatus",
		"buildStatusConfig", "insecureSsl", "sourceIdentifier"}
	environmentFields = []string{"environmentVariables", "type", "image", "computeType", "computeConfiguration", "fleet",
		"privilegedMode", "certificate", "registryCredential", "imagePullCredentialsType"}
	variableFields = []string{"name", "value", "type"}
)

// decoder walks a node tree into a Project, recording each field's line and
// every problem rather than stopping at the first.
type decoder struct {
	*yamlnode.FileDecoder
	given map[string]string
	spec  *yaml.Node // the buildspec's node
}

func newDecoder(file string) *decoder {
	return &decoder{FileDecoder: yamlnode.NewFileDecoder(file, yamlnode.Options{QuoteScalars: true, StrconvScalars: true})}
}

// inlineLine maps a line of an inline buildspec to the file's: one for one in
// a literal block (|), else the line the string starts on.
func (d *decoder) inlineLine(line int) int {
	if d.spec == nil {
		return 1
	}
	if d.spec.Style == yaml.LiteralStyle && line > 0 {
		return d.spec.Line + line
	}
	return d.spec.Line
}

// once reports whether path is the first field to set what; CodeBuild's
// shape nests some fields that sluice's has at the top.
func (d *decoder) once(what string, f yamlnode.Field, path string) bool {
	if d.given == nil {
		d.given = map[string]string{}
	}
	if first, ok := d.given[what]; ok {
		d.Errorf(f.Line, path, "given twice (also as %s, line %d)", first, d.LineOf(first))
		return false
	}
	d.given[what] = path
	return true
}

func (d *decoder) document(root *yaml.Node) *Project {
	if root = d.Root(root, "build project"); root == nil {
		return nil
	}
	p := New("")
	d.SetLine("", root.Line)
	for _, f := range d.Mapping(root, "") {
		path := f.Key
		switch f.Key {
		case "name":
			p.Name = d.Str(f.Value, path)
		case "description":
			p.Description = d.Str(f.Value, path)
		case "buildspec":
			if d.once("buildspec", f, path) {
				d.buildspec(p, f.Value, path)
			}
		case "environmentVariables":
			if d.once("environmentVariables", f, path) {
				p.EnvironmentVariables = d.variables(f.Value, path)
			}
		case "timeoutInMinutes":
			p.TimeoutInMinutes = d.Int(f.Value, path)
		case "isolation":
			p.Isolation = strings.ToLower(d.Str(f.Value, path))
		case "network":
			p.Network = d.Bool(f.Value, path)
		case "serviceRole":
			p.ServiceRole = d.Str(f.Value, path)
		case "connection":
			p.Connection = d.Str(f.Value, path)
		case "source":
			for _, sf := range d.Mapping(f.Value, path) {
				sp := yamlnode.Join(path, sf.Key)
				switch {
				case sf.Key == "buildspec":
					if d.once("buildspec", sf, sp) {
						d.buildspec(p, sf.Value, sp)
					}
				case !contains(sourceFields, sf.Key):
					d.Unknown(sf, sp, sourceFields)
				}
			}
		case "environment":
			for _, ef := range d.Mapping(f.Value, path) {
				ep := yamlnode.Join(path, ef.Key)
				switch {
				case ef.Key == "environmentVariables":
					if d.once("environmentVariables", ef, ep) {
						p.EnvironmentVariables = d.variables(ef.Value, ep)
					}
				case !contains(environmentFields, ef.Key):
					d.Unknown(ef, ep, environmentFields)
				}
			}
		default:
			if !contains(ignoredFields, f.Key) {
				d.Unknown(f, path, append(append([]string{}, projectFields...), ignoredFields...))
			}
		}
	}
	return p
}

func (d *decoder) buildspec(p *Project, n *yaml.Node, path string) {
	n = yamlnode.Resolve(n)
	if n.Kind == yaml.MappingNode {
		d.Fail(path)
		d.Errorf(n.Line, path, "must be a string: a path inside the source, or the buildspec itself as a block (buildspec: |)")
		return
	}
	p.Buildspec = d.Str(n, path)
	d.spec = n
}

func (d *decoder) variables(n *yaml.Node, path string) []EnvironmentVariable {
	items := d.List(n, path)
	if items == nil {
		return nil
	}
	out := make([]EnvironmentVariable, len(items))
	for i, item := range items {
		ip := yamlnode.Index(path, i)
		out[i].Type = TypePlaintext
		for _, f := range d.Mapping(item, ip) {
			fp := yamlnode.Join(ip, f.Key)
			switch f.Key {
			case "name":
				out[i].Name = d.Str(f.Value, fp)
			case "value":
				out[i].Value = d.Str(f.Value, fp)
			case "type":
				// Read in any case, as the pipeline's enumerations are.
				t := d.Str(f.Value, fp)
				out[i].Type = t
				if u := strings.ToUpper(t); u == TypePlaintext || u == TypeParameterStore || u == TypeSecretsManager {
					out[i].Type = u
				}
			default:
				d.Unknown(f, fp, variableFields)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
