/* Platform kinds (memory backends, NUMA, NVDIMM, confidential guests, the
 * IOMMU, firmware, migration, sandbox, actions, PCIe topology): golden argv
 * for every kind, validation errors with their exact messages, and real
 * QEMU (q35, TCG, -S) started with them and read back over QMP. The
 * confidential-guest kinds cannot run a guest here: sev-guest is created as
 * an object only (QEMU 7.2 allows that without SEV hardware), tdx-guest is
 * shown to be rejected by QEMU 7.2, s390-pv-guest and pef-guest are golden
 * only. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kind.h"
#include "kindtest.h"
#include "proc.h"
#include "rundir.h"
#include "test.h"

static const char *const platform_kinds[] = {
    "memory-backend-ram",
    "memory-backend-file",
    "memory-backend-memfd",
    "numa-node",
    "numa-dist",
    "nvdimm",
    "overcommit",
    "sev-guest",
    "tdx-guest",
    "s390-pv-guest",
    "pef-guest",
    "intel-iommu",
    "loader",
    "fw_cfg",
    "pflash",
    "bios",
    "incoming",
    "sandbox",
    "action",
    "x3130-upstream",
    "xio3130-downstream",
    "pxb-pcie",
    "pcie-pci-bridge",
    NULL,
};

static void test_registered(void)
{
    for (const char *const *n = platform_kinds; *n; n++) {
        const vc_kind_t *k = vc_kind_find(*n);
        if (!k) VC_FAIL("kind %s is not registered", *n);
        if (!k->doc || !*k->doc) VC_FAIL("kind %s has no doc", *n);
        for (size_t f = 0; f < k->nfields; f++)
            if (k->fields[f].type == VC_T_ENUM && !k->fields[f].values)
                VC_FAIL("%s.%s: enum without values", *n, k->fields[f].name);
    }
    vc_test_kinds_unique();
    ASSERT_STR_CONTAINS(vc_kind_find("tdx-guest")->doc, "QEMU 7.2 rejects it");
    ASSERT_STR_EQ(vc_kind_suggest_kind("pxb-pci"), "pxb-pcie");
}

static void test_golden(void)
{
    /* memory backends */
    GOLDEN("memory-backend-ram",
           "-object memory-backend-ram,id=ram0,size=512M,share=on,prealloc=on,prealloc-threads=2,"
           "dump=off,merge=off,reserve=off",
           {"id", "ram0"}, {"size", "512M"}, {"share", "on"}, {"prealloc", "true"},
           {"prealloc_threads", "2"}, {"dump", "off"}, {"merge", "false"}, {"reserve", "off"});
    GOLDEN("memory-backend-ram", "-object memory-backend-ram,id=ram1,size=1073741824",
           {"id", "ram1"}, {"size", "1073741824"});
    GOLDEN("memory-backend-ram", "-object memory-backend-ram,id=ram2,size=2G", {"id", "ram2"},
           {"size", "2g"});
    /* huge pages from a hugetlbfs mount; the comma in the path is doubled */
    GOLDEN("memory-backend-file",
           "-object memory-backend-file,id=hp0,size=1G,share=on,prealloc=on,"
           "mem-path=/dev/hugepages/vm,,1,discard-data=on,readonly=off,align=2M,pmem=off",
           {"id", "hp0"}, {"size", "1G"}, {"mem_path", "/dev/hugepages/vm,1"}, {"share", "on"},
           {"prealloc", "on"}, {"discard_data", "on"}, {"readonly", "off"}, {"align", "2M"},
           {"pmem", "off"});
    GOLDEN("memory-backend-memfd",
           "-object memory-backend-memfd,id=mfd0,size=2G,share=on,hugetlb=on,hugetlbsize=2M,"
           "seal=on",
           {"id", "mfd0"}, {"size", "2G"}, {"share", "on"}, {"hugetlb", "on"},
           {"hugetlbsize", "2M"}, {"seal", "on"});
    GOLDEN("memory-backend-memfd", "-object memory-backend-memfd,id=mfd1,size=256M,share=on",
           {"id", "mfd1"}, {"size", "256M"}, {"share", "on"});
    /* host NUMA binding, on every backend */
    GOLDEN("memory-backend-ram",
           "-object memory-backend-ram,id=ram3,size=1G,host-nodes=0,policy=bind", {"id", "ram3"},
           {"size", "1G"}, {"host_nodes", "0"}, {"policy", "bind"});
    GOLDEN("memory-backend-file",
           "-object memory-backend-file,id=hp1,size=1G,host-nodes=0-3,policy=interleave,"
           "mem-path=/dev/hugepages",
           {"id", "hp1"}, {"size", "1G"}, {"mem_path", "/dev/hugepages"}, {"host_nodes", "0-3"},
           {"policy", "interleave"});
    GOLDEN("memory-backend-memfd",
           "-object memory-backend-memfd,id=mfd2,size=1G,host-nodes=127,policy=preferred",
           {"id", "mfd2"}, {"size", "1G"}, {"host_nodes", "127"}, {"policy", "preferred"});
    GOLDEN("memory-backend-ram", "-object memory-backend-ram,id=ram4,size=1G,policy=default",
           {"id", "ram4"}, {"size", "1G"}, {"policy", "default"});

    /* NUMA */
    GOLDEN("numa-node", "-numa node,nodeid=0,cpus=0-1,memdev=ram0", {"nodeid", "0"},
           {"cpus", "0-1"}, {"memdev", "ram0"});
    GOLDEN("numa-node", "-numa node,nodeid=1,cpus=2,initiator=0", {"nodeid", "1"}, {"cpus", "2"},
           {"initiator", "0"});
    GOLDEN("numa-node", "-numa node,nodeid=127", {"nodeid", "127"});
    /* nodeid is QEMU's to give when left out: the next number */
    GOLDEN("numa-node", "-numa node,cpus=1,memdev=ram1", {"cpus", "1"}, {"memdev", "ram1"});
    GOLDEN("numa-node", "-numa node", {NULL, NULL});
    GOLDEN("numa-dist", "-numa dist,src=0,dst=1,val=20", {"src", "0"}, {"dst", "1"}, {"val", "20"});
    GOLDEN("numa-dist", "-numa dist,src=1,dst=1,val=10", {"src", "1"}, {"dst", "1"}, {"val", "10"});
    GOLDEN("numa-dist", "-numa dist,src=0,dst=2,val=255", {"src", "0"}, {"dst", "2"},
           {"val", "255"});

    /* NVDIMM: share off unless asked, as in QEMU: the guest's writes stay
     * out of the file (an NVDIMM rootfs image) */
    GOLDEN("nvdimm",
           "-object memory-backend-file,id=nvm0,mem-path=/srv/nv,,0.img,size=4G,pmem=on "
           "-device nvdimm,memdev=nvm0,id=nv0,label-size=128K,unarmed=on,slot=1,node=0",
           {"memdev", "nvm0"}, {"mem_path", "/srv/nv,0.img"}, {"size", "4G"}, {"id", "nv0"},
           {"label_size", "128K"}, {"unarmed", "on"}, {"slot", "1"}, {"node", "0"}, {"pmem", "on"});
    GOLDEN("nvdimm",
           "-object memory-backend-file,id=nvm1,mem-path=/srv/nv1,size=1G,share=on -device "
           "nvdimm,memdev=nvm1,id=nv1",
           {"memdev", "nvm1"}, {"mem_path", "/srv/nv1"}, {"size", "1G"}, {"share", "on"},
           {"id", "nv1"});
    /* govmm's read-only image: readonly=on on the backend, unarmed on */
    GOLDEN("nvdimm",
           "-object memory-backend-file,id=nvm2,mem-path=/img/rootfs.img,size=256M,readonly=on "
           "-device nvdimm,memdev=nvm2,id=nv2,unarmed=on",
           {"memdev", "nvm2"}, {"mem_path", "/img/rootfs.img"}, {"size", "256M"},
           {"readonly", "on"}, {"id", "nv2"}, {"unarmed", "on"});

    GOLDEN("overcommit", "-overcommit mem-lock=off", {"mem_lock", "off"});
    GOLDEN("overcommit", "-overcommit mem-lock=on,cpu-pm=on", {"mem_lock", "on"}, {"cpu_pm", "on"});

    /* confidential guests */
    GOLDEN("sev-guest", "-object sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=5",
           {"id", "sev0"}, {"cbitpos", "51"}, {"reduced_phys_bits", "1"}, {"policy", "0x5"});
    GOLDEN("sev-guest",
           "-object sev-guest,id=sev1,cbitpos=47,reduced-phys-bits=5,handle=2,sev-device=/dev/sev,"
           "dh-cert-file=/run/vc/dh,,cert,session-file=/run/vc/session,kernel-hashes=on",
           {"id", "sev1"}, {"cbitpos", "47"}, {"reduced_phys_bits", "5"}, {"handle", "2"},
           {"sev_device", "/dev/sev"}, {"dh_cert_file", "/run/vc/dh,cert"},
           {"session_file", "/run/vc/session"}, {"kernel_hashes", "on"});
    GOLDEN("tdx-guest",
           "-object tdx-guest,id=tdx0,attributes=268435456,sept-ve-disable=on,"
           "mrconfigid=ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83v,"
           "mrowner=q83v,mrownerconfig=AA==",
           {"id", "tdx0"}, {"attributes", "0x10000000"}, {"sept_ve_disable", "on"},
           {"mrconfigid", "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83v"},
           {"mrowner", "q83v"}, {"mrownerconfig", "AA=="});
    GOLDEN("tdx-guest", "-object tdx-guest,id=tdx1", {"id", "tdx1"});
    GOLDEN("s390-pv-guest", "-object s390-pv-guest,id=pv0", {"id", "pv0"});
    GOLDEN("pef-guest", "-object pef-guest,id=pef0", {"id", "pef0"});

    /* IOMMU */
    GOLDEN("intel-iommu",
           "-device "
           "intel-iommu,id=iommu0,intremap=on,eim=on,device-iotlb=on,caching-mode=on,aw-bits=48",
           {"id", "iommu0"}, {"intremap", "on"}, {"eim", "on"}, {"device_iotlb", "on"},
           {"caching_mode", "on"}, {"aw_bits", "48"});
    GOLDEN("intel-iommu", "-device intel-iommu,intremap=off,aw-bits=39", {"intremap", "off"},
           {"aw_bits", "39"});
    GOLDEN("intel-iommu", "-device intel-iommu", {NULL, NULL});

    /* firmware */
    GOLDEN("loader", "-device loader,id=ld0,file=/fw/a,,b.bin,addr=1048576,cpu-num=0,force-raw=on",
           {"id", "ld0"}, {"file", "/fw/a,b.bin"}, {"addr", "0x100000"}, {"cpu_num", "0"},
           {"force_raw", "on"});
    GOLDEN("loader", "-device loader,addr=4096,data=305419896,data-len=4,data-be=on",
           {"addr", "0x1000"}, {"data", "0x12345678"}, {"data_len", "4"}, {"data_be", "on"});
    GOLDEN("fw_cfg", "-fw_cfg name=opt/org.vclaunch/cfg,file=/etc/vc,,cfg",
           {"name", "opt/org.vclaunch/cfg"}, {"file", "/etc/vc,cfg"});
    GOLDEN("fw_cfg", "-fw_cfg 'name=opt/org.vclaunch/msg,string=a,,b c'",
           {"name", "opt/org.vclaunch/msg"}, {"string", "a,b c"});
    GOLDEN("pflash",
           "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd",
           {"unit", "0"}, {"readonly", "on"}, {"file", "/usr/share/OVMF/OVMF_CODE.fd"});
    GOLDEN("pflash", "-drive if=pflash,format=qcow2,unit=1,file=/run/vc/vars,,1.fd,id=vars0",
           {"unit", "1"}, {"file", "/run/vc/vars,1.fd"}, {"format", "qcow2"}, {"id", "vars0"});
    GOLDEN("bios", "-bios /usr/share/seabios/bios.bin", {"path", "/usr/share/seabios/bios.bin"});
    /* -bios takes a plain file name, not an option string: no doubling */
    GOLDEN("bios", "-bios /fw/a,b.bin", {"path", "/fw/a,b.bin"});

    /* migration */
    GOLDEN("incoming", "-incoming defer", {"uri", "defer"});
    GOLDEN("incoming", "-incoming rdma:192.0.2.1:4444", {"uri", "rdma:192.0.2.1:4444"});
    GOLDEN("incoming", "-incoming fd:3", {"fd", "3"});
    GOLDEN("incoming", "-incoming 'exec:cat /run/vc/state'", {"exec", "cat /run/vc/state"});
    GOLDEN("incoming", "-incoming tcp:0.0.0.0:4444", {"tcp", "0.0.0.0:4444"});
    GOLDEN("incoming", "-incoming unix:/run/vc/mig.sock", {"unix", "/run/vc/mig.sock"});

    /* sandbox: everything optional denied by default */
    GOLDEN("sandbox",
           "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
           {NULL, NULL});
    GOLDEN("sandbox",
           "-sandbox on,obsolete=allow,elevateprivileges=children,spawn=allow,"
           "resourcecontrol=deny",
           {"obsolete", "allow"}, {"elevateprivileges", "children"}, {"spawn", "allow"});
    GOLDEN("action",
           "-action reboot=shutdown,shutdown=pause,panic=exit-failure,watchdog=inject-nmi",
           {"reboot", "shutdown"}, {"shutdown", "pause"}, {"panic", "exit-failure"},
           {"watchdog", "inject-nmi"});
    GOLDEN("action", "-action panic=none", {"panic", "none"});

    /* PCIe topology */
    GOLDEN("x3130-upstream", "-device x3130-upstream,id=up0,bus=rp1", {"id", "up0"},
           {"bus", "rp1"});
    GOLDEN("x3130-upstream", "-device x3130-upstream,id=up1,bus=rp2,addr=0x0", {"id", "up1"},
           {"bus", "rp2"}, {"addr", "0x0"});
    GOLDEN("xio3130-downstream",
           "-device xio3130-downstream,id=dn0,bus=up0,chassis=3,slot=0,addr=0x1", {"id", "dn0"},
           {"bus", "up0"}, {"chassis", "3"}, {"slot", "0"}, {"addr", "0x1"});
    GOLDEN("pxb-pcie", "-device pxb-pcie,id=pxb0,bus_nr=128,bus=pcie.0", {"id", "pxb0"},
           {"bus_nr", "128"});
    GOLDEN("pxb-pcie", "-device pxb-pcie,id=pxb1,bus_nr=64,numa_node=1,bus=pcie.0,addr=0x9",
           {"id", "pxb1"}, {"bus_nr", "64"}, {"numa_node", "1"}, {"addr", "0x9"});
    GOLDEN("pcie-pci-bridge", "-device pcie-pci-bridge,id=ppb0", {"id", "ppb0"});
    GOLDEN("pcie-pci-bridge", "-device pcie-pci-bridge,id=ppb1,bus=rp2,addr=0x0", {"id", "ppb1"},
           {"bus", "rp2"}, {"addr", "0x0"});
}

static void test_rejects(void)
{
    /* fw_cfg: exactly one of file and string, names under opt/ */
    REJECT("fw_cfg", "fw_cfg: field 'string': set exactly one of file and string",
           {"name", "opt/org.vclaunch/a"}, {"file", "/f"}, {"string", "s"});
    REJECT("fw_cfg", "fw_cfg: set exactly one of file and string", {"name", "opt/org.vclaunch/a"});
    REJECT("fw_cfg", "fw_cfg: field 'name': \"etc/vc\" must start with \"opt/\" and go on",
           {"name", "etc/vc"}, {"string", "s"});
    REJECT("fw_cfg", "fw_cfg: field 'name': \"opt/\" must start with \"opt/\" and go on",
           {"name", "opt/"}, {"string", "s"});
    REJECT("fw_cfg",
           "fw_cfg: field 'name': \"opt/org.vclaunch/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is "
           "longer than 55 characters",
           {"name", "opt/org.vclaunch/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, {"string", "s"});
    REJECT("fw_cfg", "fw_cfg: field 'name': is required", {"string", "s"});
    REJECT("fw_cfg", "fw_cfg: field 'file': holds a control character (0x0a)",
           {"name", "opt/org.vclaunch/a"}, {"file", "/etc/a\nb"});

    /* incoming: exactly one mode */
    REJECT("incoming", "incoming: field 'fd': excludes 'uri': set only one", {"uri", "defer"},
           {"fd", "3"});
    REJECT("incoming", "incoming: field 'unix': excludes 'tcp': set only one",
           {"tcp", "0.0.0.0:4444"}, {"unix", "/run/m.sock"});
    REJECT("incoming", "incoming: set one of uri, fd, exec, tcp and unix", {NULL, NULL});
    REJECT("incoming",
           "incoming: field 'uri': \"later\" is neither defer nor a tcp:, unix:, fd:, exec:, rdma: "
           "or vsock: address",
           {"uri", "later"});
    REJECT("incoming", "incoming: field 'fd': 2 is out of range (3 to 2147483647)", {"fd", "2"});

    /* NUMA */
    REJECT("numa-dist", "numa-dist: field 'val': 9 is out of range (10 to 255)", {"src", "0"},
           {"dst", "1"}, {"val", "9"});
    REJECT("numa-dist", "numa-dist: field 'val': 256 is out of range (10 to 255)", {"src", "0"},
           {"dst", "1"}, {"val", "256"});
    REJECT("numa-dist", "numa-dist: field 'val': a node's distance to itself must be 10, got 20",
           {"src", "1"}, {"dst", "1"}, {"val", "20"});
    REJECT("numa-dist", "numa-dist: field 'dst': is required", {"src", "0"}, {"val", "20"});
    REJECT("numa-node", "numa-node: field 'nodeid': 128 is out of range (0 to 127)",
           {"nodeid", "128"});
    REJECT("numa-node", "numa-node: field 'cpus': \"3-1\" is not a vCPU index or range (2 or 0-3)",
           {"nodeid", "0"}, {"cpus", "3-1"});
    REJECT("numa-node", "numa-node: field 'cpus': \"0,1\" is not a vCPU index or range (2 or 0-3)",
           {"nodeid", "0"}, {"cpus", "0,1"});
    REJECT("numa-node", "numa-node: field 'cpus': \" 1\" is not a vCPU index or range (2 or 0-3)",
           {"nodeid", "0"}, {"cpus", " 1"});
    REJECT("numa-node",
           "numa-node: field 'memdev': id 'mem 0' may hold only letters, digits, '-', "
           "'.' and '_'",
           {"nodeid", "0"}, {"memdev", "mem 0"});

    /* memory backends */
    REJECT("memory-backend-file", "memory-backend-file 'm0': field 'mem_path': is required",
           {"id", "m0"}, {"size", "1G"});
    REJECT("memory-backend-file",
           "memory-backend-file 'm0': field 'mem_path': holds a control character (0x0a)",
           {"id", "m0"}, {"size", "1G"}, {"mem_path", "/dev/huge\npages"});
    REJECT("memory-backend-ram",
           "memory-backend-ram: field 'id': id '0mem' must start with a letter", {"id", "0mem"},
           {"size", "1G"});
    REJECT("memory-backend-ram",
           "memory-backend-ram 'm0': field 'size': expected a size like 512M or 2G or bytes, got "
           "\"1Q\"",
           {"id", "m0"}, {"size", "1Q"});
    REJECT("memory-backend-ram", "memory-backend-ram 'm0': field 'size': is required",
           {"id", "m0"});
    REJECT("memory-backend-ram",
           "memory-backend-ram 'm0': field 'prealloc_threads': 0 is out of range (1 to 1024)",
           {"id", "m0"}, {"size", "1G"}, {"prealloc_threads", "0"});
    REJECT("memory-backend-memfd",
           "memory-backend-memfd 'mfd0': field 'hugetlbsize': needs hugetlb on", {"id", "mfd0"},
           {"size", "1G"}, {"hugetlbsize", "2M"});
    REJECT("memory-backend-memfd",
           "memory-backend-memfd 'mfd0': field 'seal': expected a boolean, got \"yes\"",
           {"id", "mfd0"}, {"size", "1G"}, {"seal", "yes"});

    REJECT("nvdimm", "nvdimm: field 'id': is required", {"memdev", "nvm0"}, {"mem_path", "/srv/nv"},
           {"size", "1G"});
    REJECT("nvdimm", "nvdimm: field 'mem_path': is required", {"memdev", "nvm0"}, {"size", "1G"});
    REJECT("nvdimm",
           "nvdimm 'nv0': field 'readonly': on needs unarmed on (QEMU refuses an armed NVDIMM on "
           "a read-only file)",
           {"memdev", "nvm0"}, {"mem_path", "/nv"}, {"size", "1G"}, {"id", "nv0"},
           {"readonly", "on"});
    REJECT("nvdimm",
           "nvdimm 'nv0': field 'readonly': on needs unarmed on (QEMU refuses an armed NVDIMM on "
           "a read-only file)",
           {"memdev", "nvm0"}, {"mem_path", "/nv"}, {"size", "1G"}, {"id", "nv0"},
           {"readonly", "on"}, {"unarmed", "off"});
    const vc_kind_t *nvdimm = vc_kind_find("nvdimm");
    ASSERT(nvdimm->fields[vc_kind_field(nvdimm, "share")].def == NULL);
    /* host NUMA binding: what QEMU 7.2 refuses */
    REJECT("memory-backend-ram",
           "memory-backend-ram 'm0': field 'host_nodes': needs policy preferred, bind or "
           "interleave (QEMU takes no host nodes with policy default)",
           {"id", "m0"}, {"size", "1G"}, {"host_nodes", "0"});
    REJECT("memory-backend-file",
           "memory-backend-file 'm0': field 'host_nodes': needs policy preferred, bind or "
           "interleave (QEMU takes no host nodes with policy default)",
           {"id", "m0"}, {"size", "1G"}, {"mem_path", "/m"}, {"host_nodes", "0"},
           {"policy", "default"});
    REJECT("memory-backend-memfd",
           "memory-backend-memfd 'm0': field 'policy': bind needs host_nodes", {"id", "m0"},
           {"size", "1G"}, {"policy", "bind"});
    REJECT("memory-backend-ram",
           "memory-backend-ram 'm0': field 'policy': \"local\" is not one of: default, "
           "preferred, bind, interleave",
           {"id", "m0"}, {"size", "1G"}, {"policy", "local"});
    const char *bad_nodes[] = {"128", "1-0", "0,1", "a", "", "0-", "-1", "0-128"};
    for (size_t i = 0; i < sizeof bad_nodes / sizeof bad_nodes[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "memory-backend-ram 'm0': field 'host_nodes': \"%s\" is not a host node or "
                 "range of nodes (1 or 0-3, at most 127)",
                 bad_nodes[i]);
        REJECT("memory-backend-ram", want, {"id", "m0"}, {"size", "1G"},
               {"host_nodes", bad_nodes[i]}, {"policy", "bind"});
    }
    REJECT("overcommit", "overcommit: field 'mem_lock': is required", {"cpu_pm", "on"});

    /* confidential guests */
    REJECT("sev-guest", "sev-guest 'sev0': field 'cbitpos': 64 is out of range (1 to 63)",
           {"id", "sev0"}, {"cbitpos", "64"});
    REJECT("sev-guest", "sev-guest 'sev0': field 'reduced_phys_bits': is required", {"id", "sev0"},
           {"cbitpos", "47"});
    REJECT("sev-guest",
           "sev-guest 'sev0': field 'policy': 4294967296 is out of range (0 to 4294967295)",
           {"id", "sev0"}, {"policy", "0x100000000"});
    REJECT("tdx-guest", "tdx-guest 'tdx0': field 'mrowner': holds a control character (0x0a)",
           {"id", "tdx0"}, {"mrowner", "q83v\n"});
    REJECT("s390-pv-guest", "s390-pv-guest: field 'id': is required", {NULL, NULL});
    REJECT("pef-guest",
           "pef-guest: field 'id': id 'pef,0' may hold only letters, digits, '-', '.' "
           "and '_'",
           {"id", "pef,0"});

    /* IOMMU */
    REJECT("intel-iommu", "intel-iommu: field 'aw_bits': must be 39 or 48, got 40",
           {"aw_bits", "40"});
    REJECT("intel-iommu", "intel-iommu: field 'aw_bits': 52 is out of range (39 to 48)",
           {"aw_bits", "52"});
    REJECT("intel-iommu", "intel-iommu: field 'eim': on needs intremap on", {"intremap", "off"},
           {"eim", "on"});
    REJECT("intel-iommu", "intel-iommu: field 'intremap': \"yes\" is not one of: on, off, auto",
           {"intremap", "yes"});

    /* firmware */
    REJECT("loader", "loader: field 'data': a value to store excludes a file to load",
           {"file", "/fw.bin"}, {"data", "1"}, {"data_len", "1"});
    REJECT("loader", "loader: field 'data_len': is required with data", {"addr", "0x1000"},
           {"data", "1"});
    REJECT("loader", "loader: field 'data_len': applies to data only", {"file", "/fw.bin"},
           {"data_len", "4"});
    REJECT("loader", "loader: field 'data_len': 9 is out of range (1 to 8)", {"data_len", "9"});
    REJECT("pflash", "pflash: field 'unit': 2 is out of range (0 to 1)", {"unit", "2"});
    REJECT("pflash", "pflash: field 'file': is required", {"unit", "0"});
    REJECT("pflash", "pflash: field 'format': \"vmdk\" is not one of: raw, qcow2", {"unit", "0"},
           {"file", "/f.fd"}, {"format", "vmdk"});
    REJECT("bios", "bios: field 'path': holds a control character (0x0a)", {"path", "/fw\n.bin"});
    REJECT("bios", "bios: field 'path': empty path", {"path", ""});

    /* sandbox, action */
    REJECT("sandbox", "sandbox: field 'spawn': \"children\" is not one of: allow, deny",
           {"spawn", "children"});
    REJECT("action", "action: set at least one of reboot, shutdown, panic, watchdog", {NULL, NULL});
    REJECT("action",
           "action: field 'panic': \"reset\" is not one of: pause, shutdown, exit-failure, none",
           {"panic", "reset"});
    REJECT(
        "action",
        "action: field 'watchdog': \"nmi\" is not one of: reset, shutdown, poweroff, inject-nmi, "
        "pause, debug, none",
        {"watchdog", "nmi"});

    /* topology */
    REJECT("x3130-upstream", "x3130-upstream 'up0': field 'bus': is required", {"id", "up0"});
    REJECT("xio3130-downstream",
           "xio3130-downstream 'dn0': field 'bus': id 'up 0' may hold only letters, digits, '-', "
           "'.' and '_'",
           {"id", "dn0"}, {"bus", "up 0"});
    REJECT("xio3130-downstream",
           "xio3130-downstream 'dn0': field 'chassis': 256 is out of range (0 to 255)",
           {"id", "dn0"}, {"bus", "up0"}, {"chassis", "256"});
    REJECT("pxb-pcie", "pxb-pcie 'pxb0': field 'bus_nr': 256 is out of range (0 to 255)",
           {"id", "pxb0"}, {"bus_nr", "256"});
    REJECT("pxb-pcie", "pxb-pcie 'pxb0': field 'bus_nr': is required", {"id", "pxb0"});
    REJECT("pcie-pci-bridge", "pcie-pci-bridge: field 'id': is required", {"addr", "0x1"});
}

/* ---- real QEMU ---- */

static char line[65536];

/* Sends cmd; returns its "return" member, owned by *root (free it). */
static cJSON *qmp_return(int fd, const char *cmd, cJSON **root)
{
    vc_test_qmp(fd, cmd, line, sizeof line);
    *root = cJSON_ParseWithLengthOpts(line, strlen(line) + 1, NULL, 1);
    if (!*root) VC_FAIL("not JSON: %s", line);
    cJSON *ret = cJSON_GetObjectItemCaseSensitive(*root, "return");
    if (!ret) VC_FAIL("%s -> %s", cmd, line);
    return ret;
}

static const char *qom_get(int fd, const char *path, const char *prop)
{
    return vc_test_qom_get(fd, path, prop, line, sizeof line);
}

/* The HMP command's output text (malloc'd). */
static char *hmp(int fd, const char *command)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"%s\"}}\n",
             command);
    cJSON *root;
    cJSON *ret = qmp_return(fd, cmd, &root);
    ASSERT(cJSON_IsString(ret));
    char *s = strdup(ret->valuestring);
    cJSON_Delete(root);
    return s;
}

/* The element of array whose member key is the string value. */
static cJSON *find_by(cJSON *array, const char *key, const char *value)
{
    cJSON *e;
    cJSON_ArrayForEach(e, array)
    {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
        if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0) return e;
    }
    VC_FAIL("no element with %s \"%s\"", key, value);
}

static double num(const cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) VC_FAIL("member %s is not a number", key);
    return v->valuedouble;
}

static int flag(const cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsBool(v)) VC_FAIL("member %s is not a boolean", key);
    return cJSON_IsTrue(v);
}

static void make_file(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    ASSERT_INT_EQ(ftruncate(fd, size), 0);
    close(fd);
}

#define MiB (1024.0 * 1024.0)

/* Memory backends, NUMA, NVDIMM, the IOMMU, PCIe topology, pflash, loader
 * and fw_cfg in one q35 machine. */
static void test_qemu_platform(void)
{
    char dir[] = "/tmp/vc-test-platform-XXXXXX";
    ASSERT(mkdtemp(dir));
    char mem[128], nv[128], ro[128], code[128], vars[128], ld[128], blob[128];
    snprintf(mem, sizeof mem, "%s/mem,1.img", dir); /* created by QEMU; comma escaped */
    snprintf(nv, sizeof nv, "%s/nv,0.img", dir);
    snprintf(ro, sizeof ro, "%s/rootfs.img", dir);
    make_file(ro, 16 << 20);
    snprintf(code, sizeof code, "%s/code.fd", dir);
    snprintf(vars, sizeof vars, "%s/vars,1.fd", dir);
    snprintf(ld, sizeof ld, "%s/ld.bin", dir);
    snprintf(blob, sizeof blob, "%s/blob", dir);
    make_file(code, 128 * 1024);
    make_file(vars, 128 * 1024);
    make_file(ld, 16);
    make_file(blob, 5);

    const vc_test_dev_t specs[] = {
        {"machine",
         {{"type", "q35"}, {"accel", "tcg"}, {"nvdimm", "on"}, {"kernel_irqchip", "split"}}},
        {"memory", {{"size", "256M"}, {"slots", "2"}, {"maxmem", "1G"}}},
        {"smp", {{"cpus", "2"}}},
        {"intel-iommu",
         {{"id", "iommu0"},
          {"intremap", "on"},
          {"eim", "off"},
          {"device_iotlb", "on"},
          {"caching_mode", "on"},
          {"aw_bits", "48"}}},
        {"memory-backend-ram",
         {{"id", "m0"},
          {"size", "128M"},
          {"share", "off"},
          {"dump", "off"},
          {"merge", "off"},
          {"reserve", "off"},
          {"host_nodes", "0"},
          {"policy", "bind"}}},
        {"memory-backend-file",
         {{"id", "m1"},
          {"size", "128M"},
          {"mem_path", mem},
          {"share", "on"},
          {"prealloc", "on"},
          {"prealloc_threads", "2"},
          {"discard_data", "on"},
          {"readonly", "off"},
          {"align", "2M"},
          {"pmem", "off"}}},
        {"memory-backend-memfd",
         {{"id", "m2"},
          {"size", "32M"},
          {"share", "on"},
          {"hugetlb", "off"},
          {"seal", "on"},
          {"host_nodes", "0"},
          {"policy", "preferred"}}},
        {"numa-node", {{"nodeid", "0"}, {"cpus", "0"}, {"memdev", "m0"}}},
        {"numa-node", {{"cpus", "1"}, {"memdev", "m1"}}}, /* QEMU numbers it 1 */
        {"numa-dist", {{"src", "0"}, {"dst", "1"}, {"val", "20"}}},
        {"numa-dist", {{"src", "1"}, {"dst", "0"}, {"val", "20"}}},
        {"nvdimm",
         {{"memdev", "nvm0"},
          {"mem_path", nv},
          {"size", "64M"},
          {"id", "nv0"},
          {"label_size", "128K"},
          {"unarmed", "off"},
          {"slot", "0"},
          {"node", "1"}}},
        /* a read-only image, as govmm's rootfs NVDIMM */
        {"nvdimm",
         {{"memdev", "nvm1"},
          {"mem_path", ro},
          {"size", "16M"},
          {"readonly", "on"},
          {"id", "nv1"},
          {"unarmed", "on"},
          {"node", "0"}}},
        {"pxb-pcie", {{"id", "pxb0"}, {"bus_nr", "128"}, {"numa_node", "1"}}},
        {"pcie-root-port", {{"id", "rp1"}, {"bus", "pcie.0"}, {"chassis", "1"}, {"slot", "1"}}},
        {"x3130-upstream", {{"id", "up0"}, {"bus", "rp1"}}},
        {"xio3130-downstream", {{"id", "dn0"}, {"bus", "up0"}, {"chassis", "2"}, {"slot", "0"}}},
        {"pcie-pci-bridge", {{"id", "ppb0"}, {"bus", "pcie.0"}}},
        {"pflash", {{"unit", "0"}, {"readonly", "on"}, {"file", code}}},
        {"pflash", {{"unit", "1"}, {"file", vars}}},
        {"loader", {{"id", "ld0"}, {"file", ld}, {"addr", "0x100000"}, {"force_raw", "on"}}},
        {"loader",
         {{"id", "ld1"},
          {"addr", "0x2000"},
          {"data", "0x12345678"},
          {"data_len", "4"},
          {"data_be", "on"}}},
        {"fw_cfg", {{"name", "opt/org.vclaunch/file"}, {"file", blob}}},
        {"fw_cfg", {{"name", "opt/org.vclaunch/text"}, {"string", "a,b"}}},
    };
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_vm_t vm;
    vc_test_vm_start(&vm, &loop, dir, NULL, specs, sizeof specs / sizeof specs[0], NULL, 0);
    int fd = vm.qmp;

    /* memory backends, by id */
    cJSON *root;
    cJSON *ret = qmp_return(fd, "{\"execute\":\"query-memdev\"}\n", &root);
    ASSERT_INT_EQ(cJSON_GetArraySize(ret), 5);
    cJSON *m = find_by(ret, "id", "m0");
    ASSERT_INT_EQ(num(m, "size"), 128 * MiB);
    ASSERT(!flag(m, "share") && !flag(m, "prealloc") && !flag(m, "dump") && !flag(m, "merge"));
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(m, "policy")->valuestring, "bind");
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(m, "host-nodes");
    ASSERT(cJSON_GetArraySize(nodes) == 1 && cJSON_GetArrayItem(nodes, 0)->valueint == 0);
    m = find_by(ret, "id", "m1");
    ASSERT_INT_EQ(num(m, "size"), 128 * MiB);
    ASSERT(flag(m, "share") && flag(m, "prealloc") && flag(m, "dump"));
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(m, "policy")->valuestring, "default");
    m = find_by(ret, "id", "m2");
    ASSERT_INT_EQ(num(m, "size"), 32 * MiB);
    ASSERT(flag(m, "share") && !flag(m, "prealloc"));
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(m, "policy")->valuestring, "preferred");
    /* the NVDIMMs' backends: private (share off) unless asked */
    m = find_by(ret, "id", "nvm0");
    ASSERT_INT_EQ(num(m, "size"), 64 * MiB);
    ASSERT(!flag(m, "share"));
    m = find_by(ret, "id", "nvm1");
    ASSERT_INT_EQ(num(m, "size"), 16 * MiB);
    ASSERT(!flag(m, "share"));
    cJSON_Delete(root);
    ASSERT_STR_EQ(qom_get(fd, "/objects/nvm1", "readonly"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/nv1", "unarmed"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m1", "type"), "{\"return\": \"memory-backend-file\"}");
    char want[512];
    snprintf(want, sizeof want, "{\"return\": \"%s\"}", mem);
    ASSERT_STR_EQ(qom_get(fd, "/objects/m1", "mem-path"), want);
    ASSERT_STR_EQ(qom_get(fd, "/objects/m1", "align"), "{\"return\": 2097152}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m1", "discard-data"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m2", "type"), "{\"return\": \"memory-backend-memfd\"}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m2", "seal"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m1", "prealloc-threads"), "{\"return\": 2}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/m0", "reserve"), "{\"return\": false}");
    ASSERT(access(mem, F_OK) == 0); /* QEMU created the backing file at the escaped path */

    /* NUMA: each vCPU on its node, each node with its backend's memory;
     * node 1 also holds the NVDIMM (64M less its 128K label area) */
    ret = qmp_return(fd, "{\"execute\":\"query-cpus-fast\"}\n", &root);
    ASSERT_INT_EQ(cJSON_GetArraySize(ret), 2);
    cJSON *cpu;
    cJSON_ArrayForEach(cpu, ret)
    {
        cJSON *props = cJSON_GetObjectItemCaseSensitive(cpu, "props");
        ASSERT_INT_EQ(num(props, "node-id"), num(cpu, "cpu-index"));
    }
    cJSON_Delete(root);
    char *numa = hmp(fd, "info numa");
    ASSERT_STR_EQ(numa, "2 nodes\r\n"
                        "node 0 cpus: 0\r\nnode 0 size: 144 MB\r\nnode 0 plugged: 16 MB\r\n"
                        "node 1 cpus: 1\r\nnode 1 size: 191 MB\r\nnode 1 plugged: 63 MB\r\n");
    free(numa);

    /* NVDIMM */
    ret = qmp_return(fd, "{\"execute\":\"query-memory-devices\"}\n", &root);
    ASSERT_INT_EQ(cJSON_GetArraySize(ret), 2);
    cJSON *dimm = cJSON_GetArrayItem(ret, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(dimm, "type")->valuestring, "nvdimm");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(dimm, "data");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(data, "id")->valuestring, "nv0");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(data, "memdev")->valuestring, "/objects/nvm0");
    ASSERT_INT_EQ(num(data, "node"), 1);
    ASSERT_INT_EQ(num(data, "size"), 64 * MiB - 128 * 1024);
    cJSON_Delete(root);
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/nv0", "label-size"), "{\"return\": 131072}");

    /* intel-iommu */
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "type"),
                  "{\"return\": \"intel-iommu\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "intremap"), "{\"return\": \"on\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "eim"), "{\"return\": \"off\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "device-iotlb"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "caching-mode"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/iommu0", "aw-bits"), "{\"return\": 48}");

    /* PCIe topology: the expander and the bridge on pcie.0 are listed; the
     * switch sits behind rp1, which firmware has not numbered yet under -S,
     * so its ports are found through QOM */
    vc_test_qmp(fd, "{\"execute\":\"query-pci\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"pxb0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"ppb0\"");
    ASSERT_STR_CONTAINS(line, "\"qdev_id\": \"rp1\"");
    ASSERT_STR_CONTAINS(line, "\"bus\": 128"); /* the expander's root bus */
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/pxb0", "bus_nr"), "{\"return\": 128}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/pxb0", "numa_node"), "{\"return\": 1}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ppb0", "type"),
                  "{\"return\": \"pcie-pci-bridge\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/up0", "type"),
                  "{\"return\": \"x3130-upstream\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/up0", "parent_bus"),
                  "{\"return\": \"/machine/peripheral/rp1/rp1\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/dn0", "type"),
                  "{\"return\": \"xio3130-downstream\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/dn0", "parent_bus"),
                  "{\"return\": \"/machine/peripheral/up0/up0\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/dn0", "chassis"), "{\"return\": 2}");

    /* pflash: code read-only, variables writable */
    ret = qmp_return(fd, "{\"execute\":\"query-block\"}\n", &root);
    const char *flash[][2] = {{"pflash0", code}, {"pflash1", vars}};
    for (int i = 0; i < 2; i++) {
        cJSON *b = find_by(ret, "device", flash[i][0]);
        cJSON *ins = cJSON_GetObjectItemCaseSensitive(b, "inserted");
        ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(ins, "file")->valuestring, flash[i][1]);
        ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(ins, "drv")->valuestring, "raw");
        ASSERT_INT_EQ(flag(ins, "ro"), i == 0);
    }
    cJSON_Delete(root);

    /* loader: the device and the blob it placed at 1M */
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ld0", "type"), "{\"return\": \"loader\"}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ld0", "addr"), "{\"return\": 1048576}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ld0", "force-raw"), "{\"return\": true}");
    char *roms = hmp(fd, "info roms");
    snprintf(want, sizeof want, "addr=0000000000100000 size=0x000010 mem=ram name=\"%s\"", ld);
    ASSERT_STR_CONTAINS(roms, want);
    free(roms);
    /* data is stored byte-swapped once data-be is applied: only len and be */
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ld1", "data-len"), "{\"return\": 4}");
    ASSERT_STR_EQ(qom_get(fd, "/machine/peripheral/ld1", "data-be"), "{\"return\": true}");
    /* fw_cfg: QEMU accepted both items (no QMP query lists fw_cfg files) */

    vc_test_vm_quit(&vm);
    vc_test_loop_teardown(&loop);
    vc_error_t err = {0};
    if (vc_rundir_remove(dir, &err)) VC_FAIL("%s", err.msg);
}

static int seccomp_mode(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ASSERT(f);
    int mode = -1;
    char l[256];
    while (fgets(l, sizeof l, f))
        if (sscanf(l, "Seccomp: %d", &mode) == 1) break;
    fclose(f);
    return mode;
}

/* The bios, the sandbox, actions, overcommit, incoming defer, and the
 * sev-guest object (which QEMU 7.2 creates without SEV hardware as long as
 * the machine does not use it). */
static void test_qemu_machine(void)
{
    const char *bios = "/usr/share/seabios/bios.bin";
    if (access(bios, R_OK) != 0) bios = "/usr/share/qemu/bios.bin";
    if (access(bios, R_OK) != 0) {
        VC_FAIL("no SeaBIOS image (/usr/share/seabios/bios.bin; qemu-system-x86 brings it)");
    }
    char dir[] = "/tmp/vc-test-machine-XXXXXX";
    ASSERT(mkdtemp(dir));
    const vc_test_dev_t specs[] = {
        {"machine", {{"type", "q35"}, {"accel", "tcg"}}},
        {"memory", {{"size", "128M"}}},
        {"bios", {{"path", bios}}},
        {"sandbox", {{NULL, NULL}}},
        {"action",
         {{"reboot", "shutdown"},
          {"shutdown", "pause"},
          {"panic", "exit-failure"},
          {"watchdog", "inject-nmi"}}},
        {"overcommit", {{"mem_lock", "off"}, {"cpu_pm", "off"}}},
        {"incoming", {{"uri", "defer"}}},
        {"sev-guest",
         {{"id", "sev0"},
          {"cbitpos", "47"},
          {"reduced_phys_bits", "1"},
          {"policy", "0x7"},
          {"handle", "3"},
          {"sev_device", "/dev/sev"},
          {"dh_cert_file", "/run/vc/dh"},
          {"session_file", "/run/vc/session"},
          {"kernel_hashes", "on"}}},
    };
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_vm_t vm;
    vc_test_vm_start(&vm, &loop, dir, NULL, specs, sizeof specs / sizeof specs[0], NULL, 0);
    int fd = vm.qmp;

    vc_test_qmp(fd, "{\"execute\":\"query-status\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"status\": \"inmigrate\"");
    char want[256];
    snprintf(want, sizeof want, "{\"return\": \"%s\"}", bios);
    ASSERT_STR_EQ(qom_get(fd, "/machine", "firmware"), want);
    ASSERT_INT_EQ(seccomp_mode(vc_proc_pid(vm.proc)), 2); /* a seccomp filter is installed */

    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "type"), "{\"return\": \"sev-guest\"}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "cbitpos"), "{\"return\": 47}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "reduced-phys-bits"), "{\"return\": 1}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "policy"), "{\"return\": 7}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "sev-device"), "{\"return\": \"/dev/sev\"}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "kernel-hashes"), "{\"return\": true}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "handle"), "{\"return\": 3}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "dh-cert-file"), "{\"return\": \"/run/vc/dh\"}");
    ASSERT_STR_EQ(qom_get(fd, "/objects/sev0", "session-file"),
                  "{\"return\": \"/run/vc/session\"}");
    vc_test_qmp(fd, "{\"execute\":\"query-sev\"}\n", line, sizeof line);
    ASSERT_STR_CONTAINS(line, "\"enabled\": false");
    printf("sev-guest: object created; running an SEV guest needs SEV hardware and KVM\n");

    vc_test_vm_quit(&vm);
    vc_test_loop_teardown(&loop);
    vc_error_t err = {0};
    if (vc_rundir_remove(dir, &err)) VC_FAIL("%s", err.msg);
}

/* microvm without the legacy PIC and PIT, as govmm's microvm pods run
 * (QEMU starts it frozen without a kernel). */
static void test_qemu_microvm(void)
{
    char dir[] = "/tmp/vc-test-microvm-XXXXXX";
    ASSERT(mkdtemp(dir));
    const vc_test_dev_t specs[] = {
        {"machine", {{"type", "microvm"}, {"accel", "tcg"}, {"pic", "off"}, {"pit", "off"}}},
        {"memory", {{"size", "128M"}}},
    };
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_vm_t vm;
    vc_test_vm_start(&vm, &loop, dir, NULL, specs, sizeof specs / sizeof specs[0], NULL, 0);
    ASSERT_STR_EQ(qom_get(vm.qmp, "/machine", "type"), "{\"return\": \"microvm-machine\"}");
    ASSERT_STR_EQ(qom_get(vm.qmp, "/machine", "pic"), "{\"return\": \"off\"}");
    ASSERT_STR_EQ(qom_get(vm.qmp, "/machine", "pit"), "{\"return\": \"off\"}");
    vc_test_vm_quit(&vm);
    vc_test_loop_teardown(&loop);
    vc_error_t err = {0};
    if (vc_rundir_remove(dir, &err)) VC_FAIL("%s", err.msg);
}

/* tdx-guest is emitted as upstream QEMU spells it; QEMU 7.2 has no such
 * object type and says so. The other confidential kinds need other
 * targets or hardware. */
static void test_confidential(void)
{
    vc_argv_t a = VC_ARGV_INIT;
    vc_argv_push(&a, vc_test_qemu());
    const vc_test_dev_t specs[] = {
        {"machine", {{"type", "none"}}},
        {"flags", {{"nodefaults", "on"}, {"no_user_config", "on"}}},
        {"tdx-guest", {{"id", "tdx0"}, {"sept_ve_disable", "on"}}},
    };
    vc_test_emit_devs(&a, specs, sizeof specs / sizeof specs[0]);
    vc_argv_push2(&a, "-display", "none");
    uv_loop_t loop;
    uv_loop_init(&loop);
    vc_test_exit_t ex = {0};
    vc_proc_t *p = NULL;
    vc_error_t err = {0};
    vc_proc_options_t o = {.argv = (const char *const *)a.v};
    if (vc_proc_spawn(&loop, &o, NULL, vc_test_on_exit, &ex, &p, &err)) VC_FAIL("%s", err.msg);
    vc_test_run_until(&loop, &ex.done, 30, "qemu exit on tdx-guest");
    char tail[1024];
    vc_proc_stderr_tail(p, tail, sizeof tail);
    printf("tdx-guest on QEMU 7.2: exit %d: %s\n", ex.status, tail);
    ASSERT_INT_EQ(ex.status, 1);
    ASSERT_STR_CONTAINS(tail, "Parameter 'qom-type' does not accept value 'tdx-guest'");
    vc_proc_close(p);
    vc_test_loop_teardown(&loop);
    vc_argv_free(&a);

    printf("not run: sev-guest guest needs SEV hardware; tdx-guest needs TDX hardware and a "
           "newer QEMU; s390-pv-guest needs s390x PV (secure execution) hardware; pef-guest "
           "needs POWER PEF hardware: golden only\n");
}

int main(void)
{
    RUN(test_registered);
    RUN(test_golden);
    RUN(test_rejects);
    RUN(test_qemu_platform);
    RUN(test_qemu_machine);
    RUN(test_qemu_microvm);
    RUN(test_confidential);
    return 0;
}
