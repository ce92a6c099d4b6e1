package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var embedded embed.FS

// Data is what a template may use.
type Data struct {
	Email     string // the recipient
	NewEmail  string // for an email change
	Link      string // where the button leads, with the token
	Code      string // an 8-digit sign-in code
	ExpiresIn string // how long the link or code works, in words
	AppURL    string
}

// Templates renders messages: per kind, KIND.subject.txt, KIND.txt and
// KIND.html (text/template and html/template). The embedded ones can be
// overridden file by file from a directory (AUTH_MAIL_TEMPLATES).
type Templates struct {
	subject map[string]*texttemplate.Template
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// LoadTemplates parses the embedded templates and any overrides in dir
// ("" for none). A broken override is an error naming its file.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{subject: map[string]*texttemplate.Template{}, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	files, err := fs.Glob(embedded, "templates/*")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := filepath.Base(f)
		src, err := embedded.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if dir != "" {
			if over, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				src = over
			} else if !os.IsNotExist(err) {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
		}
		if err := t.add(name, string(src)); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
	}
	return t, nil
}

func (t *Templates) add(name, src string) error {
	switch {
	case strings.HasSuffix(name, ".subject.txt"):
		tpl, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
		t.subject[strings.TrimSuffix(name, ".subject.txt")] = tpl
		return err
	case strings.HasSuffix(name, ".txt"):
		tpl, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
		t.text[strings.TrimSuffix(name, ".txt")] = tpl
		return err
	case strings.HasSuffix(name, ".html"):
		tpl, err := htmltemplate.New(name).Option("missingkey=error").Parse(src)
		t.html[strings.TrimSuffix(name, ".html")] = tpl
		return err
	}
	return nil
}

// Render builds the message of kind for d.
func (t *Templates) Render(kind string, d Data) (Message, error) {
	subject, text, html := t.subject[kind], t.text[kind], t.html[kind]
	if subject == nil || text == nil || html == nil {
		return Message{}, fmt.Errorf("no templates for %q", kind)
	}
	var sb, tb, hb bytes.Buffer
	if err := subject.Execute(&sb, d); err != nil {
		return Message{}, err
	}
	if err := text.Execute(&tb, d); err != nil {
		return Message{}, err
	}
	if err := html.Execute(&hb, d); err != nil {
		return Message{}, err
	}
	return Message{To: d.Email, Subject: strings.TrimSpace(sb.String()), Text: tb.String(), HTML: hb.String()}, nil
}
