package waldurtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

func (s *Server) usersMe(c *reqCtx) reply {
	return c.object(s.renderUser(c.user, true))
}

// authPassword exchanges a username and password for the user's DRF token.
func (s *Server) authPassword(c *reqCtx) reply {
	var b struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ := url.ParseQuery(string(c.body))
		b.Username, b.Password = form.Get("username"), form.Get("password")
	} else if err := json.Unmarshal(c.body, &b); err != nil {
		return detail(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	for _, u := range s.st.users.list {
		if u.Username == b.Username && u.Password != "" && u.Password == b.Password {
			return jsonReply(http.StatusOK, map[string]string{"token": u.Token})
		}
	}
	return detail(http.StatusUnauthorized, "Invalid username/password")
}

func (s *Server) getOffering(c *reqCtx) reply {
	o, rep, ok := s.lookupOffering(c)
	if !ok {
		return rep
	}
	return c.object(s.renderOffering(o))
}

func (s *Server) listOfferings(c *reqCtx) reply {
	q := c.query()
	customers, rep, ok := uuidFilter(q, "customer_uuid", false)
	if !ok {
		return rep
	}
	states := stringsFilter(q, "state", false)
	types := stringsFilter(q, "type", false)
	name := strings.ToLower(q.Get("name"))
	all := s.st.offerings.list
	var out []*offering
	for i := len(all) - 1; i >= 0; i-- {
		o := all[i]
		if o.Customer == nil || !match(customers, o.Customer.UUID) {
			if customers != nil {
				continue
			}
		}
		if !match(states, o.State) || !match(types, o.Type) ||
			name != "" && !strings.Contains(strings.ToLower(o.Name), name) {
			continue
		}
		out = append(out, o)
	}
	return listReply(c, out, func(o *offering) any { return s.renderOffering(o) })
}
