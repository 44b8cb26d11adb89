from conftest import login


def test_a_counselor_can_log_in_and_reach_the_admin(client, make):
    user = make.staff("counselor")
    response = login(client, user.email)
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    assert user.full_name in page.get_data(as_text=True)
