package analyticsdb

import "strings"

// routePattern generalises a page path into the kind of page it is: no query or fragment, and the namespace
// and name of catalog, TechDocs and template pages and the id of a template run's task page replaced
// ("/catalog/default/component/api/docs" → "/catalog/:namespace/component/:name/docs"). The paths metric walks
// these; migrations 16 and 19 compute the same in SQL for the page views stored before them (a test holds the
// two together).
func routePattern(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	for _, prefix := range []string{"/catalog/", "/docs/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			if segs, tail, ok := leadingSegments(rest, 3); ok {
				return prefix + ":namespace/" + segs[1] + "/:name" + tail
			}
			return path
		}
	}
	if rest, ok := strings.CutPrefix(path, "/create/templates/"); ok {
		if _, tail, ok := leadingSegments(rest, 2); ok {
			return "/create/templates/:namespace/:name" + tail
		}
	}
	if rest, ok := strings.CutPrefix(path, "/create/tasks/"); ok {
		if _, tail, ok := leadingSegments(rest, 1); ok {
			return "/create/tasks/:taskId" + tail
		}
	}
	return path
}

// leadingSegments splits the first n segments (each at least a character) off a path without its leading
// slash; tail is the rest, from its slash on.
func leadingSegments(path string, n int) (segs []string, tail string, ok bool) {
	rest := path
	for i := range n {
		seg, after, found := strings.Cut(rest, "/")
		if seg == "" || (!found && i < n-1) {
			return nil, "", false
		}
		segs = append(segs, seg)
		if !found {
			return segs, "", true
		}
		rest = after
	}
	return segs, "/" + rest, true
}
