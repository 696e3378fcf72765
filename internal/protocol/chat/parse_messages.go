package chat

import (
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/llm"
)

// messageParser turns the messages array into System and Messages. It
// remembers the calls made so far, because a tool result names only the
// call id (tool) or only the function (the deprecated function role), and
// llm.Part wants both.
type messageParser struct {
	r          *llm.Request
	names      map[string]string // call id → function name
	lastByName map[string]string // function name → id of its latest call
	// afterTool is set while the last non-system message was a tool
	// result, so that consecutive results share one user message.
	afterTool bool
}

func parseMessages(r *llm.Request, root gjson.Result) error {
	v := root.Get("messages")
	if !v.IsArray() || !v.Get("0").Exists() {
		return invalid("messages", "'messages' is required and must be a non-empty array")
	}
	p := &messageParser{r: r, names: map[string]string{}, lastByName: map[string]string{}}
	for i, m := range v.Array() {
		if err := p.message(m, i); err != nil {
			return err
		}
	}
	if len(r.Messages) == 0 && len(r.System) == 0 {
		return invalid("messages", "'messages' has no message with content")
	}
	return nil
}

func (p *messageParser) message(m gjson.Result, i int) error {
	path := index("messages", i)
	if !m.IsObject() {
		return invalid(path, "'"+path+"' must be an object")
	}
	role, err := reqString(m.Get("role"), path+".role")
	if err != nil {
		return err
	}
	switch role {
	case "system", "developer":
		return p.system(m, path)
	case "user":
		return p.user(m, path)
	case "assistant":
		return p.assistant(m, path, i)
	case "tool":
		return p.tool(m, path)
	case "function":
		return p.function(m, path)
	}
	return invalid(path+".role", fmt.Sprintf("role %q is not one of system, developer, user, assistant, tool", role))
}

// system appends to Request.System; it does not end a run of tool results,
// since it leaves the conversation itself.
func (p *messageParser) system(m gjson.Result, path string) error {
	parts, err := contentParts(m.Get("content"), path+".content", allowText)
	if err != nil {
		return err
	}
	if parts == nil {
		return invalid(path+".content", "'"+path+".content' is required")
	}
	p.r.System = append(p.r.System, dropEmptyText(parts)...)
	return nil
}

func (p *messageParser) user(m gjson.Result, path string) error {
	parts, err := contentParts(m.Get("content"), path+".content", allowText|allowImage|allowFile)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return invalid(path+".content", "'"+path+".content' is required and must not be empty")
	}
	p.afterTool = false
	p.r.Messages = append(p.r.Messages, llm.Message{Role: llm.RoleUser, Parts: parts})
	return nil
}

// assistant orders its parts as llm wants them: thinking, text, tool calls.
// A message left with no parts at all is dropped: no target accepts an
// empty assistant turn.
func (p *messageParser) assistant(m gjson.Result, path string, i int) error {
	parts, err := thinkingParts(m, path)
	if err != nil {
		return err
	}
	content, err := contentParts(m.Get("content"), path+".content", allowText|allowRefusal)
	if err != nil {
		return err
	}
	parts = append(parts, dropEmptyText(content)...)
	refusal, err := optString(m.Get("refusal"), path+".refusal")
	if err != nil {
		return err
	}
	if refusal != "" {
		parts = append(parts, llm.Part{Kind: llm.PartText, Text: refusal})
	}
	if parts, err = p.toolCalls(parts, m.Get("tool_calls"), path+".tool_calls"); err != nil {
		return err
	}
	if parts, err = p.functionCall(parts, m.Get("function_call"), path+".function_call", i); err != nil {
		return err
	}
	p.afterTool = false
	if len(parts) > 0 {
		p.r.Messages = append(p.r.Messages, llm.Message{Role: llm.RoleAssistant, Parts: parts})
	}
	return nil
}

func (p *messageParser) toolCalls(parts []llm.Part, v gjson.Result, path string) ([]llm.Part, error) {
	calls, err := optArray(v, path)
	if err != nil {
		return nil, err
	}
	for j, c := range calls {
		cp := index(path, j)
		if !c.IsObject() {
			return nil, invalid(cp, "'"+cp+"' must be an object")
		}
		typ, err := optString(c.Get("type"), cp+".type")
		if err != nil {
			return nil, err
		}
		if typ != "" && typ != "function" {
			return nil, invalid(cp+".type", fmt.Sprintf("tool call type %q is not supported; only function calls can be translated", typ))
		}
		packed, err := reqString(c.Get("id"), cp+".id")
		if err != nil {
			return nil, err
		}
		call, err := functionPart(c.Get("function"), cp+".function")
		if err != nil {
			return nil, err
		}
		// Ids the gateway packed a Gemini signature into come back here.
		call.ID, call.Signature = llm.UnpackCallID(packed)
		p.remember(call)
		parts = append(parts, call)
	}
	return parts, nil
}

// functionCall reads the deprecated single call, which has no id: one is
// made from the message's position, and the function role's result finds it
// by name.
func (p *messageParser) functionCall(parts []llm.Part, v gjson.Result, path string, i int) ([]llm.Part, error) {
	if isNull(v) {
		return parts, nil
	}
	call, err := functionPart(v, path)
	if err != nil {
		return nil, err
	}
	call.ID = "call_" + strconv.Itoa(i)
	p.remember(call)
	return append(parts, call), nil
}

func functionPart(f gjson.Result, path string) (llm.Part, error) {
	call := llm.Part{Kind: llm.PartToolCall}
	if !f.IsObject() {
		return call, invalid(path, "'"+path+"' must be an object")
	}
	var err error
	if call.Name, err = reqString(f.Get("name"), path+".name"); err != nil {
		return call, err
	}
	call.Arguments, err = optString(f.Get("arguments"), path+".arguments")
	return call, err
}

func (p *messageParser) remember(call llm.Part) {
	p.names[call.ID] = call.Name
	p.lastByName[call.Name] = call.ID
}

func (p *messageParser) tool(m gjson.Result, path string) error {
	packed, err := reqString(m.Get("tool_call_id"), path+".tool_call_id")
	if err != nil {
		return err
	}
	content, err := toolContent(m, path)
	if err != nil {
		return err
	}
	id, _ := llm.UnpackCallID(packed)
	p.addResult(llm.Part{Kind: llm.PartToolResult, ID: id, Name: p.names[id], Content: content})
	return nil
}

// function reads the deprecated function role: a result that names the
// function instead of the call.
func (p *messageParser) function(m gjson.Result, path string) error {
	name, err := reqString(m.Get("name"), path+".name")
	if err != nil {
		return err
	}
	content, err := toolContent(m, path)
	if err != nil {
		return err
	}
	id, ok := p.lastByName[name]
	if !ok {
		id = "call_" + name
	}
	p.addResult(llm.Part{Kind: llm.PartToolResult, ID: id, Name: name, Content: content})
	return nil
}

func toolContent(m gjson.Result, path string) ([]llm.Part, error) {
	v := m.Get("content")
	if !v.Exists() {
		return nil, invalid(path+".content", "'"+path+".content' is required")
	}
	parts, err := contentParts(v, path+".content", allowText|allowImage)
	return dropEmptyText(parts), err
}

// addResult puts a tool result into the user message of the run of tool
// messages it belongs to, as Anthropic and Gemini want all results of one
// turn together.
func (p *messageParser) addResult(part llm.Part) {
	msgs := p.r.Messages
	if p.afterTool && len(msgs) > 0 && msgs[len(msgs)-1].Role == llm.RoleUser {
		last := &msgs[len(msgs)-1]
		last.Parts = append(last.Parts, part)
	} else {
		p.r.Messages = append(msgs, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{part}})
	}
	p.afterTool = true
}

func dropEmptyText(parts []llm.Part) []llm.Part {
	out := parts[:0]
	for _, pt := range parts {
		if pt.Kind != llm.PartText || pt.Text != "" {
			out = append(out, pt)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
