-- wrk script for the console benchmark: one signed-in session per connection.
--
--   wrk -tN -cN -dS --latency -s sessions.lua URL -- HEADERS_FILE PATH
--
-- HEADERS_FILE has one header a line ("Cookie: jn_session_seajust=..." or
-- "Authorization: Bearer jn_..."); with as many threads as connections, thread i keeps
-- header i for its one connection, so each connection is one person. The request is
-- formatted once per thread, and there is no response() callback (it would slow wrk).

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local request_text

function init(args)
  local headers = {}
  for line in io.lines(args[1]) do
    if #line > 0 then headers[#headers + 1] = line end
  end
  local line = headers[((id or 0) % #headers) + 1]
  local name, value = line:match("^([^:]+):%s*(.*)$")
  request_text = wrk.format("GET", args[2], { [name] = value })
end

function request()
  return request_text
end
