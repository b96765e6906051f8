-- W3: token introspection (RFC 7662) by the token's own client, cycling through the pool.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done
local items, next_item

function init(args)
  items, next_item = common.load("tokens.tsv"), 0
end

function request()
  local item = items[next_item % #items + 1]
  next_item = next_item + 1
  return wrk.format("POST", "/oauth/introspect",
    { ["Authorization"] = item[1], ["Content-Type"] = "application/x-www-form-urlencoded" },
    "token=" .. item[2])
end
