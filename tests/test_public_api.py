import prefect_imbrace


def test_all_is_sorted_and_complete():
    public = {n for n in dir(prefect_imbrace) if not n.startswith("_")}
    exported = set(getattr(prefect_imbrace, "__all__", []))
    assert list(prefect_imbrace.__all__) == sorted(prefect_imbrace.__all__)
    # every exported name exists
    assert exported <= public
