// etcd for the cluster testbed (swarm testbed up --kubernetes): the server module's own main,
// built from the pinned module because its go.mod has replace directives, which `go install
// module@version` refuses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
