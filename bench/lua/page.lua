-- W5/W6: a console page, server-rendered, for a signed-in administrator (cookie from env).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done

function init(args)
  cookie = os.getenv("BENCH_COOKIE")
end

function request()
  return wrk.format("GET", nil, { ["Cookie"] = cookie, ["Accept"] = "text/html" })
end
