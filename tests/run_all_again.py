"""Every notebook under nbval runs twice in its kernel: a learner's second Run All must show what the first showed.

Loaded by `-p tests.run_all_again` (pyproject's addopts), so it applies however pytest is pointed at a notebook.
After a notebook's last cell, every cell is collected once more for the same kernel and compared with the same
committed outputs (issue 23). It costs one more execution of the cells, not another kernel.
"""

from __future__ import annotations

import copy

import pytest
from nbval.plugin import IPyNbCell


@pytest.hookimpl(tryfirst=True)  # before conftest's ordering, which keeps each file's items in order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    result: list[pytest.Item] = []
    for index, item in enumerate(items):
        result.append(item)
        last_of_notebook = index + 1 == len(items) or items[index + 1].parent is not item.parent
        if isinstance(item, IPyNbCell) and last_of_notebook:
            result.extend(
                IPyNbCell.from_parent(
                    item.parent,
                    name=f"{cell.name}, run again",
                    cell_num=cell.cell_num,
                    cell=copy.deepcopy(cell.cell),  # nbval coalesces a cell's reference streams in place
                    options=cell.options,
                )
                for cell in items
                if cell.parent is item.parent and isinstance(cell, IPyNbCell)
            )
    items[:] = result
