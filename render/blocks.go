package render

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hookflow/hookflow"
	"github.com/osteele/liquid"
	lrender "github.com/osteele/liquid/render"
)

// Content blocks: {{content_blocks.${name}}} inserts the named block's
// content, rendered as Liquid in the same render, so it reads the same
// ${...} tags and the assigns made before it. The render package does not
// read the store: Data.Blocks resolves a name to its content, and callers
// back it with their store. Blocks are resolved at render time, never at
// compile time, so an edited block reaches every message on its next render.
//
// Known differences from Braze: an assign made inside a block is not seen
// after it (the block renders on a copy of the bindings), and a block's
// output counts against the render budget once per level of inclusion.

// blockTag is the tag rewrite turns {{content_blocks.${name}}} into.
const blockTag = "__block"

// maxBlockDepth is how deep blocks may include blocks.
const maxBlockDepth = 5

// blocksKey is the binding that carries a render's block resolver and the
// chain of blocks being rendered.
const blocksKey = "__hookflow_blocks"

// maxCachedBlocks bounds the parsed block cache of an Engine; past it the
// cache starts over.
const maxCachedBlocks = 1000

// blockNameRE is a valid block name, as Braze allows.
var blockNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidBlockName reports whether name may name a content block: letters,
// digits, hyphens and underscores.
func ValidBlockName(name string) bool { return blockNameRE.MatchString(name) }

var (
	blockOutput = regexp.MustCompile(`^(-?)\s*content_blocks\s*\.\s*\$\{([^}]*)\}\s*(-?)$`)
	blockRef    = regexp.MustCompile(`content_blocks\s*\.\s*\$\{([^}]*)\}`)
	mentionsCB  = regexp.MustCompile(`(^|[^\w.])content_blocks\b`)
)

// blockState is what one level of block inclusion knows.
type blockState struct {
	resolve func(name string) (string, bool)
	// chain is the names of the blocks being rendered, outermost first.
	chain []string
}

// convertBlock rewrites an output that includes a content block into the
// block tag; ok is false when body is not about content blocks.
func convertBlock(body string) (tag string, ok bool, err error) {
	if !mentionsCB.MatchString(body) {
		return "", false, nil
	}
	m := blockOutput.FindStringSubmatch(body)
	if m == nil {
		return "", true, fmt.Errorf("a content block is included as {{content_blocks.${name}}}, with nothing else inside the braces")
	}
	if !ValidBlockName(m[2]) {
		return "", true, fmt.Errorf("content block name %s must be letters, digits, hyphens and underscores", strconv.Quote(m[2]))
	}
	return "{%" + m[1] + " " + blockTag + " " + m[2] + " " + m[3] + "%}", true, nil
}

// BlockNames returns the names of the content blocks w includes directly,
// each once, in order of first use, so a caller can check they exist when
// the webhook is saved. Blocks included by those blocks are not listed.
func BlockNames(w hookflow.Webhook) []string {
	srcs := []string{w.URL, w.BodyRaw}
	for _, h := range w.Headers {
		srcs = append(srcs, h.Value)
	}
	for _, kv := range w.BodyPairs {
		srcs = append(srcs, kv.Value)
	}
	var names []string
	for _, src := range srcs {
		for _, m := range blockRef.FindAllStringSubmatch(src, -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	return names
}

// blockCache holds parsed blocks by source, shared by every render of an
// Engine.
type blockCache struct {
	mu   sync.Mutex
	tpls map[string]*liquid.Template
}

// renderBlock renders the block the tag names with the bindings in force
// where it is included.
func (e *Engine) renderBlock(ctx lrender.Context) (string, error) {
	name := strings.TrimSpace(ctx.TagArgs())
	st, _ := ctx.Get(blocksKey).(*blockState)
	if st == nil || st.resolve == nil {
		return "", fmt.Errorf("content block %q: content blocks are not available here", name)
	}
	if slices.Contains(st.chain, name) {
		return "", fmt.Errorf("content block %q includes itself (%s)", name, strings.Join(append(st.chain, name), " > "))
	}
	if len(st.chain) >= maxBlockDepth {
		return "", fmt.Errorf("content block %q: blocks nest deeper than %d", name, maxBlockDepth)
	}
	src, ok := st.resolve(name)
	if !ok {
		return "", fmt.Errorf("unknown content block %q", name)
	}
	tpl, err := e.parseBlock(name, src)
	if err != nil {
		return "", err
	}

	vars := maps.Clone(ctx.Bindings())
	vars[blocksKey] = &blockState{resolve: st.resolve, chain: append(slices.Clip(st.chain), name)}
	b, ok := vars[budgetKey].(*budget)
	if !ok {
		b = newBudget()
	}
	var out strings.Builder
	if serr := tpl.FRender(budgetWriter{w: &out, b: b}, vars); serr != nil {
		if abort := findAbort(serr); abort != nil {
			return "", abort
		}
		return "", fmt.Errorf("content block %q: %w", name, serr)
	}
	// The block's output was charged as it was written, which bounds a
	// block that loops; the template that includes it charges it again
	// when it writes it out, so give this charge back.
	b.written -= out.Len()
	return out.String(), nil
}

// parseBlock compiles a block's content, once per distinct content.
func (e *Engine) parseBlock(name, src string) (*liquid.Template, error) {
	e.blocks.mu.Lock()
	tpl, ok := e.blocks.tpls[src]
	e.blocks.mu.Unlock()
	if ok {
		return tpl, nil
	}
	p, err := e.parseMarkup("content_blocks."+name, src)
	if err != nil {
		return nil, fmt.Errorf("content block %q: %w", name, err)
	}

	e.blocks.mu.Lock()
	defer e.blocks.mu.Unlock()
	if e.blocks.tpls == nil || len(e.blocks.tpls) >= maxCachedBlocks {
		e.blocks.tpls = map[string]*liquid.Template{}
	}
	e.blocks.tpls[src] = p.tpl
	return p.tpl, nil
}
