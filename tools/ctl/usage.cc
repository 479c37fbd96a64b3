// The text of `neuroplexctl --help` (declared in args.h, beside the grammar it describes).
#include "tools/ctl/args.h"

namespace neuroplex::ctl {

std::string_view usage_text() {
  return R"(usage: neuroplexctl [--endpoint HOST:PORT[,...]] [--json] [--timeout MS] VERB ...

Cluster:
  status                                  leader, term, commit and applied index, members
  members add ID HOST:PORT [--learner]    add a node (as a non-voting learner with --learner)
  members remove ID                       remove a node
  transfer-leader ID                      hand leadership to node ID
  snapshot                                take a snapshot on the node now

Data (NS is a namespace such as swarm-1/agent-7, KEY a key in it):
  get NS KEY [--consistency linearizable|lease|local]
  update NS KEY OPS_JSON                  mutations, e.g.
      '[{"path":["n"],"type":"counter","mutator":"add","args":5}]'
  counter add NS KEY N                    add N (may be negative) to the counter at the root
  register set NS KEY JSON                set the register at the root to a JSON value
  set add NS KEY MEMBER...                members are JSON scalars (42, true, "x") or plain words
  set remove NS KEY MEMBER...
  delete NS KEY
  list NS [--prefix P] [--limit N] [--after KEY] [--consistency C]
  watch NS [--prefix P] [--from INDEX]    one line per change until Ctrl-C

Vector memories (vectors: a JSON array, @FILE holding one, or - to read one from stdin):
  collection create NAME --dim N [--metric cosine|l2|ip]   (default metric cosine)
  collection list [--consistency C]
  collection drop NAME                    the collection and every memory in it
  memory put COLLECTION --vector V [--id ID] [--text T] [--metadata JSON] [--ttl SECONDS]
                                          prints the memory's id (chosen here when not given)
  memory get COLLECTION ID [--consistency C]
  memory delete COLLECTION ID
  memory search COLLECTION --vector V [--k N] [--filter JSON] [--ef N] [--consistency C]
                                          the k closest (default 10) whose metadata equal every
                                          field of --filter '{"kind":"note"}'

Load:
  bench [--clients N] [--ops M] [--value-size B] [--op counter|register|set] [--seconds S]
        [--warmup S] [--keys K] [--ns NS]  closed-loop load; --seconds runs for a time instead

Options:
  --endpoint LIST   nodes to talk to (default $NEUROPLEX_ENDPOINT, else 127.0.0.1:7400); the
                    client follows the leader and fails over between them
  --json            machine output: exactly one JSON object (watch: one per line)
  --timeout MS      give up retrying a call after MS milliseconds (default 10000)
  --                every later word is an operand, even if it starts with --

Exit status: 0 success, 1 the cluster refused or could not be reached (the error's stable code
is printed on stderr: "error: NOT_FOUND: ..."), 2 a usage error.
)";
}

}  // namespace neuroplex::ctl
