package function

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want *Function
	}{
		{"command with defaults", "fn.yml", "name: notify\ncommand: [./notify.sh]\n",
			&Function{Name: "notify", Command: []string{"./notify.sh"}, TimeoutInMinutes: 15}},
		{"command, everything", "fn.yml",
			"name: deploy.v2\n" +
				"command:\n" +
				"  - /usr/bin/python3\n" +
				"  - deploy.py\n" +
				"  - --stage=prod\n" +
				"environment:\n" +
				"  REGION: eu-west-1\n" +
				"  RETRIES: 3\n" +
				"  EMPTY:\n" +
				"workingDirectory: /srv/deploy\n" +
				"timeoutInMinutes: 900\n",
			&Function{
				Name: "deploy.v2", Command: []string{"/usr/bin/python3", "deploy.py", "--stage=prod"},
				Environment:      map[string]string{"REGION": "eu-west-1", "RETRIES": "3", "EMPTY": ""},
				WorkingDirectory: "/srv/deploy", TimeoutInMinutes: 900,
			}},
		{"url", "fn.yml", "name: hook\nurl: https://hooks.example.com/sluice?x=1\ntimeoutInMinutes: 1\n",
			&Function{Name: "hook", URL: "https://hooks.example.com/sluice?x=1", TimeoutInMinutes: 1}},
		{"json", "fn.json", `{"name": "j", "command": ["true"], "environment": {"A": "b"}}`,
			&Function{Name: "j", Command: []string{"true"}, Environment: map[string]string{"A": "b"}, TimeoutInMinutes: 15}},
		{"anchors", "fn.yml", "name: &n a\ncommand: [echo, *n]\n",
			&Function{Name: "a", Command: []string{"echo", "a"}, TimeoutInMinutes: 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.file, []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", f, tt.want)
			}
			if err := f.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want string
	}{
		{"empty file", "fn.yml", "",
			`fn.yml:1: empty file: no function in it`},
		{"not a mapping", "fn.yml", "- a\n",
			`fn.yml:1: a function must be a mapping, not a list`},
		{"name required", "fn.yml", "command: [x]\n",
			`fn.yml:1: name: required`},
		{"bad name", "fn.yml", "name: my function\ncommand: [x]\n",
			`fn.yml:1: name: "my function" is not a function name (1-100 letters, digits, ., - and _)`},
		{"name too long", "fn.yml", "name: " + string(make101()) + "\ncommand: [x]\n",
			`fn.yml:1: name: "` + string(make101()) + `" is not a function name (1-100 letters, digits, ., - and _)`},
		{"nothing to run", "fn.yml", "name: a\n",
			`fn.yml:1: nothing to run: give command (a program and its arguments) or url`},
		{"both", "fn.yml", "name: a\ncommand: [x]\nurl: http://example.com/\n",
			`fn.yml:3: url: give command or url, not both`},
		{"command as a string", "fn.yml", "name: a\ncommand: ./run.sh --fast\n",
			`fn.yml:2: command: must be a list: the program and its arguments, run without a shell (as in ["./run.sh --fast"]), not "./run.sh --fast"`},
		{"command empty", "fn.yml", "name: a\ncommand: []\n",
			`fn.yml:2: command: must hold at least the program to run`},
		{"command null", "fn.yml", "name: a\ncommand:\n",
			`fn.yml:2: command: must be a list: the program and its arguments, not null`},
		{"command item not a string", "fn.yml", "name: a\ncommand:\n  - run\n  - {x: 1}\n",
			`fn.yml:4: command[1]: must be a string, not a mapping`},
		{"empty program", "fn.yml", "name: a\ncommand:\n  - ''\n",
			`fn.yml:3: command[0]: the program must not be empty`},
		{"url scheme", "fn.yml", "name: a\nurl: ftp://example.com/x\n",
			`fn.yml:2: url: "ftp://example.com/x" is not an http or https URL`},
		{"url without host", "fn.yml", "name: a\nurl: /hook\n",
			`fn.yml:2: url: "/hook" is not an http or https URL`},
		{"bad variable name", "fn.yml", "name: a\ncommand: [x]\nenvironment:\n  OK: 1\n  2BAD: x\n",
			`fn.yml:5: environment.2BAD: "2BAD" is not a variable name (letters, digits and _, not starting with a digit)`},
		{"reserved variable", "fn.yml", "name: a\ncommand: [x]\nenvironment:\n  SLUICE_JOB_TOKEN: x\n",
			`fn.yml:4: environment.SLUICE_JOB_TOKEN: names starting with SLUICE_ are reserved for sluice's own variables`},
		{"environment not a mapping", "fn.yml", "name: a\ncommand: [x]\nenvironment: [A=b]\n",
			`fn.yml:3: environment: must be a mapping, not a list`},
		{"environment value", "fn.yml", "name: a\ncommand: [x]\nenvironment:\n  A: [1]\n",
			`fn.yml:4: environment.A: must be a string, not a list`},
		{"duplicate variable", "fn.yml", "name: a\ncommand: [x]\nenvironment:\n  A: 1\n  A: 2\n",
			`fn.yml:5: environment.A: given twice (first on line 4)`},
		{"relative working directory", "fn.yml", "name: a\ncommand: [x]\nworkingDirectory: src\n",
			`fn.yml:3: workingDirectory: "src" is not an absolute path`},
		{"url with environment", "fn.yml", "name: a\nurl: http://h/\nenvironment: {A: b}\nworkingDirectory: /x\n",
			"fn.yml:3: environment: only a command function has an environment\n" +
				"fn.yml:4: workingDirectory: only a command function has a working directory"},
		{"timeout low", "fn.yml", "name: a\ncommand: [x]\ntimeoutInMinutes: 0\n",
			`fn.yml:3: timeoutInMinutes: 0 is out of range (1 to 900)`},
		{"timeout high", "fn.yml", "name: a\ncommand: [x]\ntimeoutInMinutes: 901\n",
			`fn.yml:3: timeoutInMinutes: 901 is out of range (1 to 900)`},
		{"timeout not a number", "fn.yml", "name: a\ncommand: [x]\ntimeoutInMinutes: soon\n",
			`fn.yml:3: timeoutInMinutes: must be a whole number, not "soon"`},
		{"unknown field", "fn.yml", "name: a\ncommand: [x]\nhandler: main\n",
			`fn.yml:3: handler: unknown field`},
		{"did you mean", "fn.yml", "name: a\ncommand: [x]\ntimeoutInMinute: 5\n",
			`fn.yml:3: timeoutInMinute: unknown field (did you mean "timeoutInMinutes"?)`},
		{"did you mean in case", "fn.yml", "name: a\nCommand: [x]\n",
			"fn.yml:1: nothing to run: give command (a program and its arguments) or url\n" +
				`fn.yml:2: Command: unknown field (did you mean "command"?)`},
		{"duplicate field", "fn.yml", "name: a\ncommand: [x]\nname: b\n",
			`fn.yml:3: name: given twice (first on line 1)`},
		{"name not a string", "fn.yml", "name: [a]\ncommand: [x]\n",
			`fn.yml:1: name: must be a string, not a list`},
		{"every problem at once", "fn.yml", "name: 'a b'\ncommand: []\nworkingDirectory: rel\ntimeoutInMinutes: 1000\n",
			"fn.yml:1: name: \"a b\" is not a function name (1-100 letters, digits, ., - and _)\n" +
				"fn.yml:2: command: must hold at least the program to run\n" +
				"fn.yml:3: workingDirectory: \"rel\" is not an absolute path\n" +
				"fn.yml:4: timeoutInMinutes: 1000 is out of range (1 to 900)"},
		{"bad yaml", "fn.yml", "name: a\ncommand: [x\n",
			"fn.yml:2: invalid YAML: did not find expected ',' or ']'"},
		{"json with lines", "fn.json", "{\n  \"name\": \"a\",\n  \"url\": \"mailto:x\"\n}\n",
			`fn.json:3: url: "mailto:x" is not an http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func make101() []byte {
	b := make([]byte, 101)
	for i := range b {
		b[i] = 'a'
	}
	return b
}

func TestValidateWithoutLines(t *testing.T) {
	f := New("x")
	f.Command = []string{"run"}
	f.Environment = map[string]string{"B-C": "1"}
	want := `environment.B-C: "B-C" is not a variable name (letters, digits and _, not starting with a digit)`
	if err := f.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate = %v, want %s", err, want)
	}
}
