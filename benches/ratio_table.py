"""The markdown table of an interleaved comparison: `ratio_table.py DIR UNIT FIRST_COLUMN`.

DIR holds `ours.1..3` and `torch.1..3`, each with lines `name<TAB>value unit`; one row per name
PyTorch reported, with both sides' three values and the median of the three ratios.
"""

import statistics
import sys


def read(path):
    return {l.split("\t")[0]: float(l.split("\t")[1].split()[0]) for l in open(path) if "\t" in l}


def main():
    d, unit, first = sys.argv[1:4]
    ours = [read(f"{d}/ours.{i}") for i in (1, 2, 3)]
    torch = [read(f"{d}/torch.{i}") for i in (1, 2, 3)]
    print(f"| {first} | oneclass ({unit}, 3 runs) | PyTorch ({unit}, 3 runs) | median ratio |")
    print("|---|---|---|---|")
    for name in torch[0]:
        o = [r[name] for r in ours]
        t = [r[name] for r in torch]
        ratio = statistics.median(a / b for a, b in zip(o, t))
        fmt = lambda v: " / ".join(f"{x:.0f}" for x in v)
        print(f"| {name} | {fmt(o)} | {fmt(t)} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
