"""Write configs/demo/1c/ (import.xml + offers.xml) from the CSV demo catalogue, as 1C would
export it with configs/demo-1c.yaml's settings. tests/test_commerceml.py checks the committed
files are what this writes: run it after changing the demo catalogue or the writer."""

from pathlib import Path

from omnisync.commerceml.write import write
from omnisync.config import load_config
from omnisync.sources.csvfile import CsvSource

ROOT = Path(__file__).resolve().parent.parent


def main(out: Path = ROOT / "configs/demo/1c") -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("import.xml", "offers.xml"):
        (out / name).touch()  # the 1C config names them: they must exist to load it
    demo = ROOT / "configs/demo"
    settings = load_config(ROOT / "configs/demo-1c.yaml").catalog
    settings = settings.model_copy(
        update={"import_file": out / "import.xml", "offers": out / "offers.xml"}
    )
    source = CsvSource(
        demo / "products.csv",
        stock=demo / "stock.csv",
        locations=demo / "locations.csv",
        city_prices=demo / "city_prices.csv",
    )  # what configs/demo.yaml reads, but its reviews: 1C keeps none (demo-1c.yaml reads them)
    names = {loc.code: loc.name for loc in source.locations(lambda p: None)}
    write(source.read(lambda p: None), settings, warehouse_names=names)


if __name__ == "__main__":
    main()
