-- W4: the protected API with Bearer access tokens, cycling through the pool.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done
local items, next_item

function init(args)
  items, next_item = common.load("tokens.tsv"), 0
end

function request()
  local item = items[next_item % #items + 1]
  next_item = next_item + 1
  return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. item[2] })
end
