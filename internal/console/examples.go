package console

import (
	"encoding/json"
	"strings"

	"github.com/tokenhot/tokenhot/internal/store"
)

// example is a ready-to-copy snippet that calls one model.
type example struct {
	Label string // shown as is: the tool's name
	Lang  string // for the code block's class
	Code  string
}

// modelRow is a row of the price list with the model's examples.
type modelRow struct {
	store.Model
	Examples []example
}

type modelsData struct {
	BaseURL string
	Models  []modelRow
}

// withExamples pairs each model with examples that use base, this
// server's address as the browser reached it.
func withExamples(base string, models []store.Model) modelsData {
	d := modelsData{BaseURL: base}
	for _, m := range models {
		d.Models = append(d.Models, modelRow{Model: m, Examples: examples(base, m)})
	}
	return d
}

// quote makes a JSON (and Python and JavaScript) string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shellQuote makes a POSIX shell single-quoted word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// examples lists the snippets for a model's surfaces: image and video
// models get their endpoint, everything else the chat surfaces.
func examples(base string, m store.Model) []example {
	name, v1 := quote(m.Name), base+"/v1"
	switch {
	case m.Price.PerImage > 0 || len(m.Price.ImagePrices) > 0:
		return []example{
			{"curl", "shell", "curl " + v1 + "/images/generations \\\n" +
				"  -H \"Authorization: Bearer $TOKENHOT_API_KEY\" -H \"Content-Type: application/json\" \\\n" +
				"  -d " + shellQuote(`{"model":`+name+`,"prompt":"A lighthouse at dawn","size":"1024x1024"}`)},
			{"Python (OpenAI SDK)", "python", "import os\nfrom openai import OpenAI\n\n" +
				"client = OpenAI(base_url=" + quote(v1) + ", api_key=os.environ[\"TOKENHOT_API_KEY\"])\n" +
				"img = client.images.generate(model=" + name + ", prompt=\"A lighthouse at dawn\", size=\"1024x1024\")\n" +
				"print(img.data[0].url or img.data[0].b64_json[:40])"},
			{"Node (OpenAI SDK)", "javascript", "import OpenAI from \"openai\";\n\n" +
				"const client = new OpenAI({ baseURL: " + quote(v1) + ", apiKey: process.env.TOKENHOT_API_KEY });\n" +
				"const img = await client.images.generate({ model: " + name + ", prompt: \"A lighthouse at dawn\", size: \"1024x1024\" });\n" +
				"console.log(img.data[0].url);"},
		}
	case m.Price.PerSecond > 0 || len(m.Price.SecondPrices) > 0:
		return []example{
			{"curl", "shell", "curl " + v1 + "/videos \\\n" +
				"  -H \"Authorization: Bearer $TOKENHOT_API_KEY\" -H \"Content-Type: application/json\" \\\n" +
				"  -d " + shellQuote(`{"model":`+name+`,"prompt":"Waves on a beach","seconds":"4"}`) + "\n" +
				"# then poll: curl " + v1 + "/videos/<id> -H \"Authorization: Bearer $TOKENHOT_API_KEY\""},
			{"Python (OpenAI SDK)", "python", "import os\nfrom openai import OpenAI\n\n" +
				"client = OpenAI(base_url=" + quote(v1) + ", api_key=os.environ[\"TOKENHOT_API_KEY\"])\n" +
				"video = client.videos.create_and_poll(model=" + name + ", prompt=\"Waves on a beach\", seconds=\"4\")\n" +
				"print(video.status)"},
		}
	}
	return []example{
		{"curl", "shell", "curl " + v1 + "/chat/completions \\\n" +
			"  -H \"Authorization: Bearer $TOKENHOT_API_KEY\" -H \"Content-Type: application/json\" \\\n" +
			"  -d " + shellQuote(`{"model":`+name+`,"messages":[{"role":"user","content":"Hello!"}]}`)},
		{"Python (OpenAI SDK)", "python", "import os\nfrom openai import OpenAI\n\n" +
			"client = OpenAI(base_url=" + quote(v1) + ", api_key=os.environ[\"TOKENHOT_API_KEY\"])\n" +
			"resp = client.chat.completions.create(\n" +
			"    model=" + name + ",\n" +
			"    messages=[{\"role\": \"user\", \"content\": \"Hello!\"}],\n)\n" +
			"print(resp.choices[0].message.content)"},
		{"Node (OpenAI SDK)", "javascript", "import OpenAI from \"openai\";\n\n" +
			"const client = new OpenAI({ baseURL: " + quote(v1) + ", apiKey: process.env.TOKENHOT_API_KEY });\n" +
			"const resp = await client.chat.completions.create({\n" +
			"  model: " + name + ",\n" +
			"  messages: [{ role: \"user\", content: \"Hello!\" }],\n});\n" +
			"console.log(resp.choices[0].message.content);"},
		{"Python (Anthropic SDK)", "python", "import os\nimport anthropic\n\n" +
			"client = anthropic.Anthropic(base_url=" + quote(base) + ", api_key=os.environ[\"TOKENHOT_API_KEY\"])\n" +
			"msg = client.messages.create(\n" +
			"    model=" + name + ",\n" +
			"    max_tokens=1024,\n" +
			"    messages=[{\"role\": \"user\", \"content\": \"Hello!\"}],\n)\n" +
			"print(msg.content[0].text)"},
		{"Python (Gemini SDK)", "python", "import os\nfrom google import genai\nfrom google.genai import types\n\n" +
			"client = genai.Client(api_key=os.environ[\"TOKENHOT_API_KEY\"],\n" +
			"                      http_options=types.HttpOptions(base_url=" + quote(base) + "))\n" +
			"resp = client.models.generate_content(model=" + name + ", contents=\"Hello!\")\n" +
			"print(resp.text)"},
	}
}
