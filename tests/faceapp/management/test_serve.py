from faceapp.management.commands.serve import banner


def test_serve_says_where_operators_log_in_and_how_to_create_the_first_login():
    lines = banner("127.0.0.1", 8000)
    assert "http://127.0.0.1:8000/accounts/login/" in lines[1] and "http://127.0.0.1:8000/ui/" in lines[1]
    assert "manage.py createsuperuser" in lines[2]


def test_serve_on_every_address_shows_a_local_address_to_open():
    assert "http://127.0.0.1:9000/ui/" in banner("0.0.0.0", 9000)[1]
