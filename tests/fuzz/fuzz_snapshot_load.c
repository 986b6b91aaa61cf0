/*
 * fuzz_snapshot_load.c — libFuzzer target for the snapshot loader: any
 * bytes must give a snapshot or NULL + EINVAL/ENOMEM, never a crash or an
 * out-of-bounds read. Each input is parsed twice: as rc_snapshot_load does
 * (checksum first) and with the checksum skipped, so that mutations reach
 * the structure checks behind it. A snapshot that loads is then used by
 * every reader: statistics, differences, filters, text and dump.
 */
#include "internal.h"

#include <stdlib.h>

static void use(const rc_snapshot *s) {
    size_t n;
    char line[256];
    for (int key = RC_KEY_FILENAME; key <= RC_KEY_TRACEBACK; key++)
        for (int cumulative = 0; cumulative < 2; cumulative++) {
            rc_statistic *st = rc_snapshot_statistics(s, (rc_key_type)key, cumulative, &n);
            for (size_t i = 0; st && i < n && i < 8; i++)
                rc_statistic_format(&st[i], line, sizeof line);
            free(st);
            rc_statistic_diff *d = rc_snapshot_compare_to(s, s, (rc_key_type)key, cumulative, &n);
            for (size_t i = 0; d && i < n && i < 8; i++)
                rc_statistic_diff_format(&d[i], line, sizeof line);
            free(d);
        }
    const rc_filter filters[] = {{true, "*[a-c]?.c", 0, true, -1}, {false, "<unknown>", 0, false, 0},
                                 {true, NULL, 0, false, 1}};
    rc_snapshot *f = rc_snapshot_filter_traces(s, filters, 3);
    rc_snapshot_free(f);
    rc_snapshot_info info;
    if (rc__snapshot_info(s, &info) == 0)
        free(info.domains);
    rc_snapshot_dump(s, "/dev/null");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int check = 1; check >= 0; check--) {
        rc_snapshot *s = rc__snapshot_parse(data, size, check);
        if (s)
            use(s);
        rc_snapshot_free(s);
    }
    return 0;
}
