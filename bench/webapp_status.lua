-- wrk script of bench/webapp.sh: counts the answers that are not 200 (a
-- redirect to the login page would otherwise be timed as a page), and
-- prints them at the end as "not 200: N".
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	not_ok = 0
end

function response(status, headers, body)
	if status ~= 200 then
		not_ok = not_ok + 1
	end
end

function done(summary, latency, requests)
	local n = 0
	for _, thread in ipairs(threads) do
		n = n + thread:get("not_ok")
	end
	io.write(string.format("not 200: %d\n", n))
end
